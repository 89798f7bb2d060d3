// A time series chart (uPlot: small, fast, canvas). The values are also in a
// table below it, for screen readers and for reading exact numbers.
import 'uplot/dist/uPlot.min.css';
import uPlot from 'uplot';
import { useEffect, useRef } from 'preact/hooks';
import { dateTime } from '../lib/format';

export function Chart({ title, times, values, unit, from, to }: { title: string; times: number[]; values: (number | null)[]; unit: string; from: number; to: number }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!el.current) return;
    const width = Math.max(300, Math.min(900, el.current.clientWidth || 600));
    const plot = new uPlot(
      {
        width,
        height: 220,
        series: [{}, { label: `${title} (${unit})`, stroke: '#0b5cad', width: 2, points: { show: true, size: 5 } }],
        axes: [{}, { label: unit }],
        // The chosen range, not just the buckets that have data.
        scales: { x: { time: true, range: [from / 1000, to / 1000] } },
      },
      [times.map((t) => t / 1000), values],
      el.current,
    );
    return () => plot.destroy();
  }, [JSON.stringify(times), JSON.stringify(values), from, to]);
  return (
    <figure class="chart">
      <figcaption>
        <h3>{title}</h3>
      </figcaption>
      <div ref={el} role="img" aria-label={`${title} over time`} />
      <details>
        <summary>Values of {title.toLowerCase()}</summary>
        <table>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">
                {title} ({unit})
              </th>
            </tr>
          </thead>
          <tbody>
            {times.map((t, i) => (
              <tr key={t}>
                <td>{dateTime(t)}</td>
                <td>{values[i] ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}

// Node.js baseline for bench/payload_decode_bench: the same 13-field format
// decoded by a hand-written decoder (DataView) and JSON.stringify, over the same
// 4096 messages (same generator), one JSON text per message.
//
//   node bench/payload_decode_baseline.js [SECONDS]     prints "fields_per_second=N"
//   node bench/payload_decode_baseline.js --check FILE  compares FILE (the C++ bench's
//       ROOST_PAYLOAD_DUMP output, one JSON text per line) with this decoder
//
// Rates are per CPU second of the process (user + system), like the C++ side.
'use strict';
const fs = require('fs');

const FIELDS = 13;
const MESSAGES = 4096;

// Must stay identical to MakeMessages() in payload_decode_bench.cpp.
function makeMessages() {
  let x = 0x9e3779b9;
  const next = () => {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    return x;
  };
  const messages = [];
  for (let m = 0; m < MESSAGES; m++) {
    const buf = new ArrayBuffer(12);
    const dv = new DataView(buf);
    const tenths = (next() % 1001) - 400;
    dv.setFloat32(0, tenths / 10);
    for (let i = 4; i < 12; i++) dv.setUint8(i, next() & 0xff);
    messages.push(dv);
  }
  return messages;
}

// Temp::float:32 AccX::uint:16:little-endian AccY::uint:16:little-endian
// AccZ::uint:16:little-endian Battery::uint:8 Digital8::bool:7 ... Digital1::bool:0
function decode(dv) {
  if (dv.byteLength < 12) throw new Error('short message');
  const d = dv.getUint8(11);
  return {
    Temp: dv.getFloat32(0),
    AccX: dv.getUint16(4, true),
    AccY: dv.getUint16(6, true),
    AccZ: dv.getUint16(8, true),
    Battery: dv.getUint8(10),
    Digital8: (d & 0x80) !== 0,
    Digital7: (d & 0x40) !== 0,
    Digital6: (d & 0x20) !== 0,
    Digital5: (d & 0x10) !== 0,
    Digital4: (d & 0x08) !== 0,
    Digital3: (d & 0x04) !== 0,
    Digital2: (d & 0x02) !== 0,
    Digital1: (d & 0x01) !== 0,
  };
}

function check(file) {
  const messages = makeMessages();
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0);
  if (lines.length === 0) throw new Error('nothing to compare');
  lines.forEach((line, i) => {
    const ours = JSON.parse(line);
    const theirs = decode(messages[i]);
    for (const key of Object.keys(theirs)) {
      // C++ prints a float's shortest text; JS widens it to a double first.
      const a = key === 'Temp' ? Math.fround(ours[key]) : ours[key];
      if (a !== theirs[key]) {
        throw new Error(`message ${i} field ${key}: C++ ${ours[key]}, Node.js ${theirs[key]}`);
      }
    }
    if (Object.keys(ours).join() !== Object.keys(theirs).join()) {
      throw new Error(`message ${i}: keys differ: ${line}`);
    }
  });
  console.log(`check: ${lines.length} messages decode alike`);
}

function run(seconds) {
  const messages = makeMessages();
  // Warm up (JIT) before measuring.
  let warm = 0;
  for (let r = 0; r < 50; r++) {
    for (let i = 0; i < MESSAGES; i++) warm += JSON.stringify(decode(messages[i])).length;
  }
  if (warm === 0) throw new Error('no output');
  let chars = 0;
  let count = 0;
  const start = process.cpuUsage();
  const wallStart = process.hrtime.bigint();
  let elapsed = 0;
  do {
    for (let i = 0; i < MESSAGES; i++) chars += JSON.stringify(decode(messages[i])).length;
    count += MESSAGES;
    elapsed = Number(process.hrtime.bigint() - wallStart) / 1e9;
  } while (elapsed < seconds);
  const cpu = process.cpuUsage(start);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const fields = (count * FIELDS) / cpuSeconds;
  console.log(
    `node ${process.version}: ${count} messages in ${cpuSeconds.toFixed(3)} CPU s ` +
      `(${elapsed.toFixed(3)} s wall), ${(chars / count).toFixed(1)} chars/message`);
  console.log(`fields_per_second=${fields.toFixed(0)}`);
}

const args = process.argv.slice(2);
if (args[0] === '--check') {
  check(args[1]);
} else {
  run(args.length > 0 ? Number(args[0]) : 3);
}

// Small lists the pages pick from (device types for filters and forms;
// groups are in groups.ts), read once per page view: at most 1 000 of each.
import { useEffect, useState } from 'preact/hooks';
import { get, type Page } from './api';

export interface DeviceTypeRef {
  id: string;
  name: string;
  group: { id: string };
}

export function useList<T>(path: string): T[] {
  const [rows, setRows] = useState<T[]>([]);
  useEffect(() => {
    get<Page<T>>(path, { limit: 1000 }).then((p) => setRows(p.data), () => setRows([]));
  }, [path]);
  return rows;
}

export const useDeviceTypes = () => useList<DeviceTypeRef>('/api/devicetypes');

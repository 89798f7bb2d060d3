// The groups the logged-in person sees (their own and those below it), for
// choosing a group in a form and for showing names instead of ids.
import { useEffect, useState } from 'preact/hooks';
import { fetchAll } from './api';

export interface Group {
  id: string;
  name: string;
  description?: string | null;
  path: string[];
  parentId?: string | null;
  creationTime?: number;
}

// A group's name with its ancestors (from the viewer's own group down), so
// that two subgroups of the same name can be told apart.
export function groupLabel(g: Group, all: Group[]): string {
  const names = g.path.map((id) => all.find((x) => x.id === id)?.name ?? id);
  return [...names, g.name].join(' / ');
}

export function useGroups(): { groups: Group[]; error: string } {
  const [groups, setGroups] = useState<Group[]>([]);
  const [error, setError] = useState('');
  useEffect(() => {
    fetchAll<Group>('/api/groups', {}, 5000).then(setGroups, (e) => setError(e instanceof Error ? e.message : String(e)));
  }, []);
  return { groups, error };
}

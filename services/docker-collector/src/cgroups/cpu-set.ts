/** Number of CPUs in a cpuset list such as "0-3,6,8-9" (an empty list counts 0). */
export function countCpuSet(list: string): number {
  const text = list.trim();
  if (text === '') return 0;
  let count = 0;
  for (const part of text.split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!match) throw new Error(`invalid cpuset list: "${list}"`);
    const from = Number(match[1]);
    const to = match[2] === undefined ? from : Number(match[2]);
    if (to < from) throw new Error(`invalid cpuset range "${part}"`);
    count += to - from + 1;
  }
  return count;
}

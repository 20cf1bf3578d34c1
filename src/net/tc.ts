/**
 * tc argv builders and the `tc -s` statistics parser for network shares and caps.
 * Pure: callers run the argv inside the bench namespace (BenchNet.exec).
 *
 *  - Split of a shaped link: an HTB tree on the bench bridge (br0). Traffic the
 *    bench namespace sends to instances leaves through br0's qdisc before the
 *    bridge forwards it to each instance's veth or tap, so one HTB root there is
 *    one shaped link shared by every instance: class 1:1 = the link (rate = ceil =
 *    linkMbit), one child per instance with rate = its share and ceil = the whole
 *    link (idle share can be borrowed, as weights do), selected by destination
 *    address (u32). Unmatched traffic goes to a small default class.
 *  - Hard cap: a TBF on the instance's bench-side link (benchIf), or an HTB class
 *    with rate = ceil = cap on br0 when the backend does not expose that link.
 */

/** Bytes a class or qdisc may send at line rate before shaping: 10 ms worth, at least 32 KiB. */
export function burstBytes(mbit: number): number {
  return Math.max(32 * 1024, Math.ceil((mbit * 1e6) / 8 / 100));
}

export interface HtbParty {
  /** Destination address of the party (an instance in 198.18.0.0/15). */
  address: string;
  rateMbit: number;
  /** Default: the whole link. */
  ceilMbit?: number;
}

export const HTB_DEFAULT_CLASS = '1:99';

/** Class id of the i-th party (0-based): 1:10, 1:11, ... */
export function htbClassId(i: number): string {
  return `1:${10 + i}`;
}

function checkAddress(a: string): string {
  if (!/^198\.(1[89])\.\d{1,3}\.\d{1,3}$/.test(a))
    throw new Error(`tc filter: ${a} is not a bench address (198.18.0.0/15)`);
  return a;
}

function checkDev(dev: string): string {
  if (!/^[A-Za-z0-9._-]{1,15}$/.test(dev)) throw new Error(`bad interface name ${JSON.stringify(dev)}`);
  return dev;
}

/** argv lists (each a `tc ...` command) building the HTB split on `dev`. */
export function htbSplitArgvs(dev: string, linkMbit: number, parties: readonly HtbParty[]): string[][] {
  checkDev(dev);
  const burst = `${burstBytes(linkMbit)}b`;
  // One HTB class under `parent`: its guaranteed rate, its ceiling, the link's burst, a quantum.
  const htbClass = (parent: string, classid: string, rate: string, ceil: string, quantum: string): string[] => [
    ...['tc', 'class', 'add', 'dev', dev, 'parent', parent, 'classid', classid, 'htb'],
    ...['rate', rate, 'ceil', ceil, 'burst', burst, 'cburst', burst, 'quantum', quantum],
  ];
  const link = `${linkMbit}mbit`;
  const cmds: string[][] = [
    [
      'tc',
      'qdisc',
      'add',
      'dev',
      dev,
      'root',
      'handle',
      '1:',
      'htb',
      'default',
      HTB_DEFAULT_CLASS.split(':')[1] as string,
    ],
    htbClass('1:', '1:1', link, link, '30000'),
    htbClass('1:1', HTB_DEFAULT_CLASS, '1mbit', link, '1514'),
  ];
  parties.forEach((p, i) => {
    const ceil = p.ceilMbit ?? linkMbit;
    cmds.push(htbClass('1:1', htbClassId(i), `${p.rateMbit}mbit`, `${ceil}mbit`, '30000'));
    cmds.push([
      'tc',
      'filter',
      'add',
      'dev',
      dev,
      'parent',
      '1:',
      'protocol',
      'ip',
      'prio',
      '1',
      'u32',
      'match',
      'ip',
      'dst',
      `${checkAddress(p.address)}/32`,
      'flowid',
      htbClassId(i),
    ]);
  });
  return cmds;
}

/** A token bucket cap on `dev` (root qdisc). */
export function tbfCapArgv(dev: string, capMbit: number): string[] {
  return [
    'tc',
    'qdisc',
    'add',
    'dev',
    checkDev(dev),
    'root',
    'tbf',
    'rate',
    `${capMbit}mbit`,
    'burst',
    `${burstBytes(capMbit)}b`,
    'latency',
    '50ms',
  ];
}

/** Remove whatever root qdisc `dev` has (errors "no qdisc" are the caller's to ignore). */
export function delRootArgv(dev: string): string[] {
  return ['tc', 'qdisc', 'del', 'dev', checkDev(dev), 'root'];
}

/**
 * Bytes sent per class or qdisc from `tc -s class show` / `tc -s qdisc show`:
 * "class htb 1:10 parent ..." or "qdisc tbf 8001: root ..." followed by
 * " Sent 123 bytes 4 pkt ...". Keys: the class id ("1:10") or qdisc handle ("8001:").
 */
export function parseTcSentBytes(text: string): Map<string, number> {
  const out = new Map<string, number>();
  let current: string | undefined;
  for (const line of text.split('\n')) {
    const head = /^(?:class|qdisc)\s+\S+\s+(\S+)/.exec(line);
    if (head) {
      current = head[1];
      continue;
    }
    const sent = /^\s+Sent (\d+) bytes/.exec(line);
    if (sent && current !== undefined) {
      out.set(current, Number(sent[1]));
      current = undefined;
    }
  }
  return out;
}

import { describe, expect, it } from 'vitest';
import {
  burstBytes,
  delRootArgv,
  htbClassId,
  htbSplitArgvs,
  parseTcSentBytes,
  tbfCapArgv,
} from '../../../src/net/tc.js';

const CLASS_SHOW = `class htb 1:11 parent 1:1 prio 0 rate 40Mbit ceil 200Mbit burst 250Kb cburst 250Kb 
 Sent 5963040 bytes 3946 pkt (dropped 0, overlimits 0 requeues 0) 
 backlog 0b 0p requeues 0
 lended: 120 borrowed: 0 giants: 0
 tokens: 1250 ctokens: 1000

class htb 1:1 root rate 200Mbit ceil 200Mbit burst 250Kb cburst 250Kb 
 Sent 29815200 bytes 19730 pkt (dropped 0, overlimits 0 requeues 0) 
 backlog 0b 0p requeues 0

class htb 1:10 parent 1:1 prio 0 rate 160Mbit ceil 200Mbit burst 250Kb cburst 250Kb 
 Sent 23852160 bytes 15784 pkt (dropped 0, overlimits 0 requeues 0) 
 backlog 0b 0p requeues 0
`;
const QDISC_SHOW = `qdisc tbf 8001: root refcnt 2 rate 80Mbit burst 100000b lat 50ms 
 Sent 30012345 bytes 20001 pkt (dropped 12, overlimits 345 requeues 0) 
 backlog 0b 0p requeues 0
`;

describe('tc for shares and caps', () => {
  it('HTB split: one link class, a default class, one class + u32 filter per party', () => {
    const cmds = htbSplitArgvs('br0', 200, [
      { address: '198.18.0.2', rateMbit: 160 },
      { address: '198.18.0.3', rateMbit: 40 },
    ]);
    expect(cmds[0]).toEqual(['tc', 'qdisc', 'add', 'dev', 'br0', 'root', 'handle', '1:', 'htb', 'default', '99']);
    const classes = cmds.filter((c) => c[1] === 'class');
    expect(classes.map((c) => c[c.indexOf('classid') + 1])).toEqual(['1:1', '1:99', '1:10', '1:11']);
    const a = classes[2]!;
    expect(a[a.indexOf('rate') + 1]).toBe('160mbit');
    expect(a[a.indexOf('ceil') + 1]).toBe('200mbit');
    const filters = cmds.filter((c) => c[1] === 'filter');
    expect(filters[1]).toEqual(expect.arrayContaining(['198.18.0.3/32', 'flowid', htbClassId(1)]));
  });
  it('refuses addresses outside the bench range and odd device names', () => {
    expect(() => htbSplitArgvs('br0', 100, [{ address: '10.0.0.1', rateMbit: 10 }])).toThrow(/bench address/);
    expect(() => tbfCapArgv('eth0; rm', 10)).toThrow(/interface name/);
    expect(delRootArgv('veth3')).toEqual(['tc', 'qdisc', 'del', 'dev', 'veth3', 'root']);
  });
  it('TBF burst is at least 10 ms at the rate', () => {
    expect(burstBytes(100)).toBe(125_000);
    expect(burstBytes(1)).toBe(32 * 1024);
    expect(tbfCapArgv('veth1', 100)).toEqual([
      'tc',
      'qdisc',
      'add',
      'dev',
      'veth1',
      'root',
      'tbf',
      'rate',
      '100mbit',
      'burst',
      '125000b',
      'latency',
      '50ms',
    ]);
  });
  it('parses bytes sent per class and per qdisc', () => {
    const c = parseTcSentBytes(CLASS_SHOW);
    expect(c.get('1:10')).toBe(23852160);
    expect(c.get('1:11')).toBe(5963040);
    expect(c.get('1:1')).toBe(29815200);
    expect(parseTcSentBytes(QDISC_SHOW).get('8001:')).toBe(30012345);
    expect(parseTcSentBytes('garbage').size).toBe(0);
  });
});

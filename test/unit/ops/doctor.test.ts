/**
 * Doctor's capability checks, from capabilities probed on a small fake host tree: one check per
 * capability, a missing one says what isobench does without it, a missing cpuset fails the doctor,
 * and a masked one says how to unmask it.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fakeHostTree } from '../../helpers/fake-host-tree.js';
import { maskCapabilities, probeCapabilities, type HostTree } from '../../../src/host/capabilities.js';
import { capabilityChecks } from '../../../src/ops/doctor.js';

const hostTree = fakeHostTree();
let root = '';
const file = (rel: string, text = ''): void => hostTree.file(rel, text);

/** One virtio disk without BFQ, KSM, THP; cgroup v1 with only the cpu controller (no cpuset, no blkio). */
function tree(): HostTree {
  root = hostTree.make('isobench-doctor-');
  file('sys/block/vda/dev', '254:0\n');
  file('sys/block/vda/queue/scheduler', '[none] mq-deadline\n');
  file('sys/block/vda/stat', '100 0 800 0 0 0 0 0 0 0 0\n');
  file('sys/kernel/mm/ksm/run', '0\n');
  file('sys/kernel/mm/transparent_hugepage/enabled', 'always [madvise] never\n');
  mkdirSync(path.join(root, 'dev'), { recursive: true });
  mkdirSync(path.join(root, 'proc'), { recursive: true });
  return {
    sys: path.join(root, 'sys'),
    dev: path.join(root, 'dev'),
    proc: path.join(root, 'proc'),
    modulesDir: undefined,
    cgroup: { version: 1, hybrid: false, mounts: { cpu: `${root}/cg/cpu` } },
    kvm: { hardware: false, summary: 'no vmx/svm flag' },
    qdiscWorks: async () => true,
  };
}

describe('doctor capability checks', () => {
  it('one check per capability, "without it, isobench …" on each missing one; missing cpuset fails', async () => {
    const hc = await probeCapabilities(tree());
    const checks = capabilityChecks(hc);
    expect(checks).toHaveLength(hc.caps.length);
    const w = checks.find((c) => c.name === 'capability: weight-based disk shares');
    expect(w).toMatchObject({
      status: 'warn',
      detail: expect.stringMatching(/without it, isobench skips the partition's disk share/),
    });
    expect(checks.find((c) => c.name === 'capability: CPU pinning (cpuset)')?.status).toBe('fail');
    expect(checks.find((c) => c.name === 'capability: kernel same-page merging (KSM)')?.status).toBe('ok');
  });

  it('a masked capability warns, keeps what the host has, and says how to unmask it', async () => {
    const hc = maskCapabilities(await probeCapabilities(tree()), ['ksm']);
    const ksm = capabilityChecks(hc).find((c) => c.name === 'capability: kernel same-page merging (KSM)');
    expect(ksm).toMatchObject({
      status: 'warn',
      detail: expect.stringMatching(/^masked: masked for this run .*the host: \S*ksm\/run: 0; without it, /),
      fix: 'run without --mask-capability',
    });
  });
});

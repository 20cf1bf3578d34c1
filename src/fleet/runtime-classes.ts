/**
 * Kubernetes RuntimeClass handlers: the one table. The fleet's manifests
 * (k8s.ts) name their RuntimeClasses from it, and the providers'
 * runtimeClassHandler() (capacity's RuntimeClass overheads) read it, so the
 * handler a manifest declares and the one a plan names are the same string.
 * Pure data: no imports, so any module may use it.
 */

export interface PlatformClass {
  /** RuntimeClass object name (what a pod's runtimeClassName says). */
  name: string;
  /** CRI handler (containerd/CRI-O runtime name). */
  handler: string;
  /** The isobench backend that measures the same kind of isolation on a host. */
  kind: 'container' | 'vm';
  /** The backend variant it corresponds to ('' for the VM kind: any machine/accelerator). */
  variant: string;
}

/**
 * Kata Containers' QEMU handler as kata-deploy installs it (kata-qemu; kata-clh and
 * kata-fc are the other hypervisors): QEMU is what the VM backend runs.
 */
export const KATA_HANDLER = 'kata-qemu';

/** The RuntimeClasses a fleet's manifests declare and whose arms it measures, in arm order. */
export const PLATFORM_CLASSES: readonly PlatformClass[] = [
  { name: 'runc', handler: 'runc', kind: 'container', variant: 'runc' },
  { name: 'runsc', handler: 'runsc', kind: 'container', variant: 'runsc' },
  { name: KATA_HANDLER, handler: KATA_HANDLER, kind: 'vm', variant: '' },
];

/** Handler per OCI runtime or alias a backend variant may name. */
export const RUNTIME_HANDLERS: Readonly<Record<string, string>> = {
  runc: 'runc',
  crun: 'crun',
  runsc: 'runsc',
  gvisor: 'runsc',
  kata: KATA_HANDLER,
};

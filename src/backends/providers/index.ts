// Importing this module registers every backend provider (each module calls registerProvider).
// Adding a backend: its provider module plus one line here.
import './native.js';
import './oci.js';
import './vm.js';
import './podman.js';
import './docker.js';
// The scripted test backend (object form `kind: fake` only; not offered in messages): see fake.ts.
import './fake.js';
import { providerCatalogueComplete } from '../../core/declarations.js';

providerCatalogueComplete();

export {
  allProviders,
  getProvider,
  providerFor,
  resolveEntry,
  providerTools,
  runtimeClassHandler,
} from '../registry.js';
export type { BackendProvider, ResolvedBackend } from '../registry.js';

// Importing this module registers every workload (each module calls registerWorkload).
import './cpu.js';
import './memory.js';
import './disk.js';
import './network.js';
import './startup.js';
import './footprint.js';
import './density.js';
import './partition.js';
import './memory-gradient.js';
import './noisy-neighbor.js';
import './redis.js';
import { workloadCatalogueComplete } from '../core/declarations.js';

workloadCatalogueComplete();

export { getWorkload, allWorkloads } from './registry.js';

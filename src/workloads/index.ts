// Importing this module registers every workload (each module calls registerWorkload).
import './cpu.js';
import './memory.js';
import './disk.js';
import './network.js';
import './startup.js';
import './footprint.js';

export { getWorkload, allWorkloads } from './registry.js';

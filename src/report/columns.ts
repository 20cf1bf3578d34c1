/** The report's columns: one per backend, native first, each with its colour. */
import type { BackendResult, RunResults } from '../results/types.js';

/** Colours per column; native is always slate so the baseline reads as the baseline. */
const NATIVE_COLOUR = '#64748b';
const PALETTE = ['#0f766e', '#7c3aed', '#c2410c', '#be123c', '#2563eb', '#a16207', '#15803d', '#9333ea'];

export interface ColumnView {
  label: string;
  kind: BackendResult['kind'];
  variant: string;
  accelerator: string;
  acceleratorReason: string;
  /** The accelerator is software emulation (TCG): figures do not describe hardware virtualization. */
  emulated: boolean;
  colour: string;
  versions: Record<string, string>;
  warnings: string[];
  /** Helper processes the backend's provider declares (results backends[].helpers). */
  helpers: NonNullable<BackendResult['helpers']>;
  limitsReadBack: Record<string, unknown> | undefined;
  error: string | undefined;
}

// ---------- helpers ----------

export function isEmulatedAccelerator(accelerator: string): boolean {
  return accelerator.toLowerCase() === 'tcg';
}

export function isNative(col: { kind: string; label: string }): boolean {
  return col.kind === 'native' || col.label === 'native';
}

// ---------- building the model ----------

export function buildColumns(results: RunResults): ColumnView[] {
  let p = 0;
  const cols: ColumnView[] = results.backends.map((b) => ({
    label: b.label,
    kind: b.kind,
    variant: b.variant,
    accelerator: b.accelerator,
    acceleratorReason: b.acceleratorReason,
    emulated: isEmulatedAccelerator(b.accelerator),
    colour: isNative(b) ? NATIVE_COLOUR : (PALETTE[p++ % PALETTE.length] ?? '#333'),
    versions: b.versions,
    warnings: b.warnings,
    helpers: b.helpers ?? [],
    limitsReadBack: b.limitsReadBack,
    error: b.error,
  }));
  // Cells naming a backend that is not in backends[] still get a column.
  for (const c of results.cells) {
    if (!cols.some((col) => col.label === c.backend)) {
      cols.push({
        label: c.backend,
        kind: c.backend.startsWith('vm') ? 'vm' : c.backend.startsWith('container') ? 'container' : 'native',
        variant: c.backend.split(':')[1] ?? '',
        accelerator: 'unknown',
        acceleratorReason: 'backend missing from results.backends',
        emulated: false,
        colour: c.backend === 'native' ? NATIVE_COLOUR : (PALETTE[p++ % PALETTE.length] ?? '#333'),
        versions: {},
        warnings: [],
        helpers: [],
        limitsReadBack: undefined,
        error: undefined,
      });
    }
  }
  // Native first: it is the baseline every other column is read against.
  return [...cols.filter((c) => isNative(c)), ...cols.filter((c) => !isNative(c))];
}

/** One file of a report folder, as a renderer returns it and write.ts writes it. */
export interface ReportFile {
  /** Path inside the report folder, POSIX separators (a subfolder is allowed: `<host>/index.html`). */
  name: string;
  data: string | Buffer;
}

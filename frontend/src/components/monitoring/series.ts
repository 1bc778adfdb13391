/**
 * The API's metric series (`[{name, step, header[], start, end, data[[float]]}]`) as what
 * a chart draws: one array of times and one array of values per column, and how each
 * series is titled and its values written.
 */
import type { MetricSeries, MetricsInterval } from "../../api/queries";

export type Unit = "percent" | "bytes" | "bytesPerSecond" | "plain";

/** A series' title (the seed's words where it has them) and the unit of its values. */
export interface SeriesLook {
  title: string;
  unit: Unit;
}

const LOOKS: Record<string, SeriesLook> = {
  cpu: { title: "CPU Usage", unit: "percent" },
  memory: { title: "Memory Usage", unit: "bytes" },
  storage: { title: "Storage Usage", unit: "bytes" },
  network: { title: "Network Traffic", unit: "bytesPerSecond" },
  disk_io: { title: "Disk I/O", unit: "bytesPerSecond" },
  load: { title: "Load Average", unit: "plain" },
};

export function lookOf(name: string): SeriesLook {
  return LOOKS[name] ?? { title: name, unit: "plain" };
}

/** The unit of one column: a `…percent` column is a share whatever its series. */
export function columnUnit(series: string, column: string): Unit {
  if (/percent|pct|_ratio$/i.test(column)) return "percent";
  return lookOf(series).unit;
}

/** The names a header may give its time column. */
const TIME_COLUMNS = new Set(["time", "timestamp", "t", "ts"]);

export interface Column {
  name: string;
  unit: Unit;
  values: (number | null)[];
  /** The largest sample of each step (a `…_max` column), beside the step's average. */
  peakOf: string | null;
}

/** A series as columns over one time axis (Unix seconds), ready for uPlot. */
export interface ChartData {
  times: number[];
  columns: Column[];
}

/**
 * Rows into columns. A row holds its time first when the header names a time column first
 * or when rows are one longer than the header; otherwise rows are the values at `start`,
 * `start + step`, ... in order.
 *
 * A step without samples (the node was down, the instance stopped) has no row; a null is
 * put in its place so the chart breaks the line there instead of drawing across the gap.
 */
export function toChartData(series: MetricSeries): ChartData {
  const { header, data, start, step } = series;
  const first = data[0]?.length ?? header.length;
  const headerHasTime = header.length > 0 && TIME_COLUMNS.has(header[0]!.toLowerCase());
  const timeFirst = headerHasTime || first === header.length + 1;
  const names = headerHasTime ? header.slice(1) : header;
  const offset = timeFirst ? 1 : 0;
  const times: number[] = [];
  const rows: ((number | null)[] | null)[] = [];
  data.forEach((row, index) => {
    const time = timeFirst ? (row[0] ?? Number.NaN) : start + index * step;
    const previous = times[times.length - 1];
    if (previous !== undefined && step > 0 && time - previous > step * 1.5) {
      times.push(previous + step);
      rows.push(null);
    }
    times.push(time);
    rows.push(row);
  });
  // The chart spans the range asked for, not just the samples in it: an hour with two
  // minutes of samples shows them at its right end. Empty rows at the range's ends do that
  // (the chart's time axis fits the times it is given).
  if (times.length > 0 && start < times[0]!) {
    times.unshift(start);
    rows.unshift(null);
  }
  if (times.length > 0 && series.end > times[times.length - 1]!) {
    times.push(series.end);
    rows.push(null);
  }
  const columns = names.map((name, index) => ({
    name,
    unit: columnUnit(series.name, name),
    peakOf: name.endsWith("_max") && names.includes(name.slice(0, -4)) ? name.slice(0, -4) : null,
    values: rows.map((row) => {
      const value = row?.[index + offset];
      return typeof value === "number" && Number.isFinite(value) ? value : null;
    }),
  }));
  return { times, columns };
}

/** A column's name as the legend says it: "cpu_max" → "cpu (max)", "net_rx" → "net rx". */
export function columnLabel(column: Column): string {
  const base = column.peakOf ?? column.name;
  const words = base.replace(/_/g, " ");
  return column.peakOf ? `${words} (max)` : words;
}

/** The last value a column has (its newest sample), or null when it has none. */
export function latest(values: (number | null)[]): number | null {
  for (let i = values.length - 1; i >= 0; i -= 1) {
    const value = values[i];
    if (value !== null && value !== undefined) return value;
  }
  return null;
}

const BINARY = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

export function formatBytes(bytes: number): string {
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1024 && unit < BINARY.length - 1) {
    value /= 1024;
    unit += 1;
  }
  // Whole bytes have no decimals, but an axis tick between them (0.5 B/s) keeps one.
  const digits =
    unit === 0 ? (Number.isInteger(value) ? 0 : 1) : value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${bytes < 0 ? "-" : ""}${value.toFixed(digits)} ${BINARY[unit]}`;
}

export function formatValue(value: number | null | undefined, unit: Unit): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  switch (unit) {
    case "percent":
      return `${value.toFixed(value < 10 ? 1 : 0)} %`;
    case "bytes":
      return formatBytes(value);
    case "bytesPerSecond":
      return `${formatBytes(value)}/s`;
    case "plain":
      return value.toFixed(2);
  }
}

/** The ranges the picker offers, as the API names them, with their spoken names. */
export const INTERVALS: { value: MetricsInterval; label: string; spoken: string }[] = [
  { value: "1h", label: "1h", spoken: "Last hour" },
  { value: "4h", label: "4h", spoken: "Last 4 hours" },
  { value: "1d", label: "1d", spoken: "Last day" },
  { value: "7d", label: "7d", spoken: "Last 7 days" },
  { value: "30d", label: "30d", spoken: "Last 30 days" },
  { value: "1y", label: "1y", spoken: "Last year" },
];

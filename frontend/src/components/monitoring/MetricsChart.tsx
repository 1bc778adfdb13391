/**
 * One metric series over time, drawn by uPlot: a canvas chart that stays smooth with tens of
 * thousands of points (PatternFly's SVG charts slow down past a few hundred). Time runs
 * along x in the browser's time zone; each column of the series is a line, its values
 * written in the series' unit on the axis, in the legend (the value under the pointer) and
 * in the caption (the newest sample). The node and instance pages use it through
 * MetricsPanel.
 */
import "uplot/dist/uPlot.min.css";

import { Content, Flex, FlexItem } from "@patternfly/react-core";
import { useEffect, useMemo, useRef } from "react";
import uPlot from "uplot";

import type { MetricSeries } from "../../api/queries";
import {
  type Column,
  columnLabel,
  formatValue,
  latest,
  lookOf,
  toChartData,
  type Unit,
} from "./series";

/** Line colours: PatternFly's chart palette (blue, green, purple, orange, teal, yellow). */
const PALETTE = ["#0066cc", "#63993d", "#5e40be", "#f5921b", "#37a3a3", "#dca614"];
const HEIGHT = 180;

/** A PatternFly token's value on this page (the theme's), or `fallback` outside one. */
function token(name: string, fallback: string): string {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}

/** A line's fill under it: its colour, faint, so one line reads as an area. */
function faint(hex: string): string {
  return `${hex}26`;
}

function options(columns: Column[], unit: Unit, width: number): uPlot.Options {
  const text = token("--pf-t--global--text--color--subtle", "#4d4d4d");
  const grid = token("--pf-t--global--border--color--default", "#c7c7c7");
  const font = `12px ${token("--pf-t--global--font--family--body", "sans-serif")}`;
  const averages = columns.filter((c) => !c.peakOf).map((c) => c.name);
  const axis = { stroke: text, font, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
  return {
    width,
    height: HEIGHT,
    series: [
      { label: "Time" },
      ...columns.map((column) => {
        // A step's peak is drawn in its average's colour, dashed and thin, under it.
        const base = column.peakOf ?? column.name;
        const colour = PALETTE[Math.max(0, averages.indexOf(base)) % PALETTE.length]!;
        return {
          label: columnLabel(column),
          stroke: colour,
          width: column.peakOf ? 1 : 1.5,
          dash: column.peakOf ? [4, 4] : undefined,
          fill: averages.length === 1 && !column.peakOf ? faint(colour) : undefined,
          // A missing step (the node was down) is a gap, not a line across it.
          spanGaps: false,
          value: (_plot: uPlot, value: number | null) => formatValue(value, unit),
        };
      }),
    ],
    scales: {
      x: { time: true },
      // Usage starts at zero; a share tops at 100 % unless a value goes past it (several
      // cores counted as one hundred each).
      y: {
        range: (_plot, _min, max) => [
          0,
          // Nothing yet (an idle NIC): a kibibyte's height, so the axis has round ticks.
          unit === "percent" ? Math.max(100, max) : max > 0 ? max * 1.1 : unit === "plain" ? 1 : 1024,
        ],
      },
    },
    axes: [
      axis,
      {
        ...axis,
        size: 76,
        // Ticks are round numbers: a share reads as "50 %", not "50.0 %".
        values: (_plot, splits) =>
          splits.map((value) => (unit === "percent" ? `${Math.round(value)} %` : formatValue(value, unit))),
      },
    ],
    legend: { show: true, live: true },
    // Dragging across the chart zooms into that span; a double click zooms out.
    cursor: { drag: { x: true, y: false }, points: { size: 6 } },
  };
}

export function MetricsChart({ series }: { series: MetricSeries }) {
  const look = lookOf(series.name);
  const chart = useMemo(() => toChartData(series), [series]);
  // One axis per chart: the columns in the unit of the first (a percentage beside bytes
  // would share no scale).
  const unit = chart.columns[0]?.unit ?? look.unit;
  const columns = useMemo(() => chart.columns.filter((c) => c.unit === unit), [chart, unit]);
  const data = useMemo<uPlot.AlignedData>(
    () => [chart.times, ...columns.map((c) => c.values)],
    [chart.times, columns],
  );
  const empty = chart.times.length === 0 || columns.every((c) => latest(c.values) === null);
  const holder = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const current = useRef(data);
  // The chart is made again only when what it draws changes shape; new samples and another
  // range go through setData, which keeps it (and a zoom the user made) in place.
  const shape = `${unit}|${columns.map((c) => c.name).join("\u0000")}`;

  // Before the effect below, which makes a chart from the newest data (React runs every
  // cleanup of a commit first, so a chart being replaced is gone by now).
  useEffect(() => {
    current.current = data;
    plot.current?.setData(data);
  }, [data]);

  useEffect(() => {
    const element = holder.current;
    if (!element || empty) return undefined;
    const made = new uPlot(
      options(columns, unit, Math.max(element.clientWidth, 200)),
      current.current,
      element,
    );
    plot.current = made;
    const resize = new ResizeObserver(() => {
      made.setSize({ width: Math.max(element.clientWidth, 200), height: HEIGHT });
    });
    resize.observe(element);
    return () => {
      resize.disconnect();
      made.destroy();
      plot.current = null;
    };
    // `columns` is read for its shape, which `shape` stands for.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shape, empty]);

  // The caption gives the newest average of each column (its peak is in the legend).
  const averages = columns.filter((c) => !c.peakOf);
  const newest = averages
    .map((c) => {
      const value = formatValue(latest(c.values), unit);
      return averages.length === 1 ? value : `${columnLabel(c)} ${value}`;
    })
    .join(", ");
  return (
    <figure className="ce-metrics-chart" aria-label={look.title}>
      <Flex
        justifyContent={{ default: "justifyContentSpaceBetween" }}
        alignItems={{ default: "alignItemsBaseline" }}
      >
        <FlexItem>
          <Content component="h3">{look.title}</Content>
        </FlexItem>
        <FlexItem>
          <Content component="small">{empty ? "No data" : `Latest: ${newest}`}</Content>
        </FlexItem>
      </Flex>
      {empty ? (
        <div className="ce-metrics-empty">
          <Content component="p">No samples in this range yet.</Content>
        </div>
      ) : (
        <div ref={holder} className="ce-metrics-canvas" />
      )}
    </figure>
  );
}

import { h } from "./dom.ts";

/**
 * A small time chart as inline SVG (no chart library: a few lines over an hour need none, and
 * the page stays one small script under its strict CSP). Colours come from console.css classes.
 */
export interface ChartLine {
  readonly label: string;
  /** The CSS class that colours it (`line-1`, `line-2`, `line-3`). */
  readonly className: string;
  /** One value per time; null leaves a gap. */
  readonly values: readonly (number | null)[];
}

export interface TimeChart {
  readonly id: string;
  readonly title: string;
  readonly unit: string;
  /** Epoch ms, oldest first, one per value of each line. */
  readonly times: readonly number[];
  /** The time axis: from `from` to `to` (epoch ms). */
  readonly from: number;
  readonly to: number;
  /** A gap longer than this between two times breaks a line (no point was taken meanwhile). */
  readonly maxStepMs: number;
  readonly lines: readonly ChartLine[];
}

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 560;
const HEIGHT = 170;
const LEFT = 52;
const RIGHT = 8;
const TOP = 10;
const BOTTOM = 22;

function svg(tag: string, attributes: Record<string, string | number>, text?: string): Element {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

/** 1, 2 or 5 times a power of ten, at least `value` (and at least 1). */
export function niceCeiling(value: number): number {
  if (!(value > 1)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 5, 10].find((m) => m * power >= value) ?? 10;
  return step * power;
}

const clockTime = (at: number) =>
  new Date(at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

/** The chart with its title, a legend giving each line's latest value, and the plot. */
export function timeChart(chart: TimeChart): HTMLElement {
  const plotWidth = WIDTH - LEFT - RIGHT;
  const plotHeight = HEIGHT - TOP - BOTTOM;
  const all = chart.lines.flatMap((line) => line.values.filter((v): v is number => v !== null));
  const top = niceCeiling(Math.max(0, ...all));
  const x = (at: number) => LEFT + ((at - chart.from) / (chart.to - chart.from)) * plotWidth;
  const y = (value: number) => TOP + plotHeight - (value / top) * plotHeight;
  const round = (n: number) => Math.round(n * 10) / 10;

  const plot = svg("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    role: "img",
    "aria-label": `${chart.title} over the last hour`,
    class: "chart-plot",
  });
  for (const value of [0, top / 2, top]) {
    plot.append(
      svg("line", { x1: LEFT, x2: WIDTH - RIGHT, y1: y(value), y2: y(value), class: "grid" }),
      svg(
        "text",
        { x: LEFT - 6, y: y(value) + 4, "text-anchor": "end", class: "axis" },
        `${value}`,
      ),
    );
  }
  for (const [at, anchor] of [
    [chart.from, "start"],
    [(chart.from + chart.to) / 2, "middle"],
    [chart.to, "end"],
  ] as const) {
    plot.append(
      svg("text", { x: x(at), y: HEIGHT - 6, "text-anchor": anchor, class: "axis" }, clockTime(at)),
    );
  }
  for (const line of chart.lines) {
    // Runs of consecutive points: a null or a missing minute ends one.
    const runs: [number, number][][] = [];
    let run: [number, number][] = [];
    line.values.forEach((value, index) => {
      const at = chart.times[index] as number;
      const previous = chart.times[index - 1];
      if (value === null || (previous !== undefined && at - previous > chart.maxStepMs)) {
        if (run.length) runs.push(run);
        run = [];
      }
      if (value !== null) run.push([round(x(at)), round(y(value))]);
    });
    if (run.length) runs.push(run);
    const group = svg("g", { class: `series ${line.className}`, "data-label": line.label });
    for (const points of runs) {
      const [first] = points;
      group.append(
        points.length === 1 && first
          ? svg("circle", { cx: first[0], cy: first[1], r: 2.5 })
          : svg("polyline", { points: points.map((p) => p.join(",")).join(" ") }),
      );
    }
    plot.append(group);
  }

  const legend = h(
    "ul",
    { class: "legend" },
    ...chart.lines.map((line) => {
      const latest = line.values.at(-1);
      return h(
        "li",
        { class: line.className },
        h("span", { class: "swatch" }),
        `${line.label}: ${latest === null || latest === undefined ? "—" : `${latest} ${chart.unit}`}`,
      );
    }),
  );
  const figure = h(
    "figure",
    { class: "chart", id: chart.id },
    h("figcaption", {}, `${chart.title} (${chart.unit}), last hour`),
    legend,
  );
  figure.append(plot);
  return figure;
}

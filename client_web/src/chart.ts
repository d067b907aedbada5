// The console's charts: Chart.js with only the parts a bar chart (the balance)
// and a line chart (a case's progress) need (tree-shaken). Loaded lazily, so
// the partner page never downloads it.

import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LineController,
  LineElement,
  LinearScale,
  PointElement,
  Tooltip,
} from "chart.js";

Chart.register(BarController, BarElement, CategoryScale, LineController, LineElement, LinearScale, PointElement, Legend, Tooltip);

/** One line of a progress chart; a null is a session without a value (a gap in the line). */
export interface Line {
  label: string;
  data: Array<number | null>;
  colour: string;
  dashed?: boolean;
}

export interface LineAxis {
  min: number;
  max: number;
  /** The y-axis title (what a higher value means). */
  title: string;
  /** A tick per this many points (Chart.js picks when unset). */
  step?: number;
}

/** Values over a case's sessions: one point per session, a line per partner.
 * Returns the data Chart.js holds, as drawn (the page exposes it for tests). */
export function lineChart(canvas: HTMLCanvasElement, labels: string[], lines: Line[], axis: LineAxis): Array<Array<number | null>> {
  const chart = new Chart(canvas, {
    type: "line",
    data: {
      labels,
      datasets: lines.map((l) => ({
        label: l.label,
        data: l.data,
        borderColor: l.colour,
        backgroundColor: l.colour,
        borderDash: l.dashed ? [6, 4] : [],
        pointStyle: l.dashed ? "rectRot" : "circle",
        pointRadius: 4,
        spanGaps: true,
        tension: 0,
        clip: 8, // a point on the scale's edge (1 or 5) is drawn whole
      })),
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      scales: {
        x: { offset: true, ticks: { color: "#333" } },
        y: {
          min: axis.min,
          max: axis.max,
          ticks: { stepSize: axis.step, precision: 0, color: "#333" },
          title: { display: true, text: axis.title, color: "#333" },
        },
      },
      plugins: {
        legend: { position: "bottom", labels: { color: "#222", usePointStyle: true, boxWidth: 10 } },
      },
    },
  });
  return chart.data.datasets.map((d) => [...(d.data as Array<number | null>)]);
}


/** Shares per partner as 100 % stacked horizontal bars. */
export class ShareChart {
  private readonly chart: Chart<"bar", number[], string>;

  constructor(canvas: HTMLCanvasElement, labels: string[], colours: [string, string]) {
    this.chart = new Chart(canvas, {
      type: "bar",
      data: {
        labels,
        datasets: [
          { label: "Partner A", data: labels.map(() => 0), backgroundColor: colours[0] },
          { label: "Partner B", data: labels.map(() => 0), backgroundColor: colours[1] },
        ],
      },
      options: {
        indexAxis: "y",
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: {
          x: { stacked: true, min: 0, max: 100, ticks: { callback: (v) => `${v}%`, color: "#333" } },
          y: { stacked: true, ticks: { color: "#222" } },
        },
        plugins: {
          legend: { position: "bottom", labels: { color: "#222" } },
          tooltip: { callbacks: { label: (ctx) => `${ctx.dataset.label}: ${ctx.parsed.x}%` } },
        },
      },
    });
  }

  update(a: number[], b: number[]): void {
    const [da, db] = this.chart.data.datasets;
    if (!da || !db) return;
    if (a.join() === da.data.join() && b.join() === db.data.join()) return;
    da.data = a;
    db.data = b;
    this.chart.update();
  }
}

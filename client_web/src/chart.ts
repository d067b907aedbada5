// The balance chart: Chart.js with only the parts a bar chart needs (tree-shaken).

import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from "chart.js";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);


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

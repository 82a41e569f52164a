// Charts as plain SVG: a bar per value, labelled with text a screen reader reads, drawn with
// presentation attributes only (no style attribute, which the CSP forbids). A few hundred
// bytes of code instead of a charting library, and nothing but bars is needed here.

export interface Bar {
  label: string;
  value: number;
}

const WIDTH = 640;

/** Vertical bars over time (one per day). */
export function Columns({ title, bars, unit }: { title: string; bars: Bar[]; unit: string }) {
  const height = 180;
  const top = 16;
  const bottom = 28;
  const max = Math.max(1e-9, ...bars.map((bar) => bar.value));
  const step = WIDTH / Math.max(1, bars.length);
  const labelEvery = Math.ceil(bars.length / 10);
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${WIDTH} ${height}`} role="img" aria-label={title}>
        <title>{title}</title>
        <line x1={0} y1={height - bottom} x2={WIDTH} y2={height - bottom} class="axis" />
        {bars.map((bar, index) => {
          const barHeight = ((height - top - bottom) * bar.value) / max;
          return (
            <g key={bar.label}>
              <rect
                class="bar"
                x={index * step + step * 0.15}
                y={height - bottom - barHeight}
                width={step * 0.7}
                height={barHeight}
              >
                <title>{`${bar.label}: ${format(bar.value)} ${unit}`}</title>
              </rect>
              {index % labelEvery === 0 ? (
                <text x={index * step + step / 2} y={height - 10} class="tick" text-anchor="middle">
                  {bar.label.slice(5)}
                </text>
              ) : null}
            </g>
          );
        })}
        <text x={4} y={12} class="tick">
          max {format(max)} {unit}
        </text>
      </svg>
      <figcaption>{title}</figcaption>
    </figure>
  );
}

/** Horizontal bars by category (user, target, team), largest first. */
export function Rows({ title, bars, unit }: { title: string; bars: Bar[]; unit: string }) {
  const sorted = [...bars].sort((a, b) => b.value - a.value).slice(0, 12);
  // Narrower than the column chart: these sit two abreast, and the text must stay readable.
  const width = 400;
  const rowHeight = 22;
  const labelWidth = 120;
  const height = Math.max(1, sorted.length) * rowHeight + 8;
  const max = Math.max(1e-9, ...sorted.map((bar) => bar.value));
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={title}>
        <title>{title}</title>
        {sorted.map((bar, index) => {
          const y = index * rowHeight + 4;
          const barWidth = ((width - labelWidth - 80) * bar.value) / max;
          return (
            <g key={bar.label}>
              <text x={labelWidth - 6} y={y + 15} class="tick" text-anchor="end">
                {bar.label.length > 18 ? `${bar.label.slice(0, 17)}…` : bar.label}
              </text>
              <rect
                class="bar"
                x={labelWidth}
                y={y + 3}
                width={Math.max(1, barWidth)}
                height={16}
              />
              <text x={labelWidth + barWidth + 6} y={y + 15} class="tick">
                {format(bar.value)} {unit}
              </text>
            </g>
          );
        })}
        {sorted.length === 0 ? (
          <text x={8} y={18} class="tick">
            no data
          </text>
        ) : null}
      </svg>
      <figcaption>{title}</figcaption>
    </figure>
  );
}

export function format(value: number): string {
  if (value === 0) return '0';
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 1) return value.toFixed(2);
  return value.toPrecision(2);
}

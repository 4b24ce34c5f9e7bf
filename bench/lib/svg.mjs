// A hand-written SVG bar chart of the benchmark table: throughput, p50 latency and CPU per
// operation, the bridge's two paths against node-oidc-provider's two storages, one row per
// operation and concurrency.

const COLORS = { bridge: '#d9480f', direct: '#f59f00', peer: '#74c0fc', peerRedis: '#1971c2' };
const escape = (text) => String(text).replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]);

function format(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) return 'n/a';
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function logScale(values, width) {
  const finite = values.filter((v) => Number.isFinite(v) && v > 0);
  const lo = 10 ** Math.floor(Math.log10(Math.min(...finite, 1)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...finite, 10)));
  const span = Math.log10(hi) - Math.log10(lo);
  const x = (v) => (Number.isFinite(v) && v > 0 ? Math.max(1, ((Math.log10(v) - Math.log10(lo)) / span) * width) : 0);
  const ticks = [];
  for (let t = lo; t <= hi * 1.0001; t *= 10) ticks.push(t);
  return { x, ticks };
}

/**
 * @param {{rows: Array<{op: string, concurrency: number}>, sides: string[], labels: Record<string, string>, title: string, subtitle: string}} data
 */
export function chartSvg({ rows, sides, labels, title, subtitle }) {
  const labelWidth = 130;
  const panelWidth = 270;
  const gap = 40;
  const rowHeight = 52;
  const top = 92;
  const panels = [
    { title: 'Throughput (operations/s, log scale)', bars: sides.map((name) => [name, (r) => r[name].rps]) },
    { title: 'p50 latency (ms, log scale)', bars: sides.map((name) => [name, (r) => r[name].p50]) },
    { title: 'Server CPU per operation (ms, log scale)', bars: sides.map((name) => [name, (r) => r[name].cpuMsPerOp]) },
  ];
  const width = labelWidth + panels.length * (panelWidth + gap) + 20;
  const height = top + rows.length * rowHeight + 60;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="11">`);
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  out.push(`<text x="16" y="24" font-size="16" font-weight="bold">${escape(title)}</text>`);
  out.push(`<text x="16" y="42" fill="#555">${escape(subtitle)}</text>`);
  const legend = sides.map((name) => [name, labels[name] ?? name]);
  legend.forEach(([key, text], i) => {
    const x = 16 + i * 230;
    out.push(`<rect x="${x}" y="54" width="12" height="12" fill="${COLORS[key]}"/><text x="${x + 18}" y="64">${escape(text)}</text>`);
  });

  panels.forEach((panel, p) => {
    const x0 = labelWidth + p * (panelWidth + gap);
    const values = rows.flatMap((row) => panel.bars.map(([, get]) => get(row)));
    const scale = logScale(values, panelWidth);
    out.push(`<text x="${x0}" y="${top - 10}" font-weight="bold">${escape(panel.title)}</text>`);
    for (const tick of scale.ticks) {
      const x = x0 + scale.x(tick);
      out.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${top + rows.length * rowHeight}" stroke="#ddd"/>`);
      out.push(`<text x="${x}" y="${top + rows.length * rowHeight + 14}" text-anchor="middle" fill="#777">${format(tick)}</text>`);
    }
    rows.forEach((row, i) => {
      const y = top + i * rowHeight + 5;
      const barHeight = (rowHeight - 12) / panel.bars.length;
      panel.bars.forEach(([key, get], b) => {
        const value = get(row);
        const w = scale.x(value);
        const by = y + b * barHeight;
        out.push(`<rect x="${x0}" y="${by}" width="${w.toFixed(1)}" height="${(barHeight - 1).toFixed(1)}" fill="${COLORS[key]}"/>`);
        out.push(`<text x="${x0 + w + 3}" y="${by + barHeight - 3}" font-size="9" fill="#333">${format(value)}</text>`);
      });
    });
  });

  rows.forEach((row, i) => {
    const y = top + i * rowHeight + rowHeight / 2 + 2;
    const ratio = row.ratio?.['direct/peerRedis']?.rps;
    out.push(`<text x="${labelWidth - 10}" y="${y - 4}" text-anchor="end" font-weight="bold">${escape(row.op)}</text>`);
    out.push(`<text x="${labelWidth - 10}" y="${y + 9}" text-anchor="end" fill="#555">c=${row.concurrency}${ratio ? `, ×${format(ratio)}` : ''}</text>`);
    if (i > 0 && row.op !== rows[i - 1].op) {
      out.push(`<line x1="10" y1="${top + i * rowHeight}" x2="${width - 10}" y2="${top + i * rowHeight}" stroke="#bbb"/>`);
    }
  });
  out.push(`<text x="16" y="${height - 14}" fill="#777">×N = throughput of the bridge on Miniflare / of oidc-provider on Redis. CPU: wrangler dev all its processes; Miniflare its workerd; Redis peer node + redis-server. npm run bench (bench/run.mjs).</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

#!/usr/bin/env python3
"""Restart latency CDFs of bench/peers as one SVG, and the table of p50/p99/ratio to the floor.

    plot-cdf.py DIR NAME...   reads DIR/NAME.txt (samples in µs, one per line), writes
                              DIR/restart-cdf.svg and prints a Markdown table

Plain SVG by hand: no plotting library to install. The x axis is logarithmic (µs to seconds).
"""
import math
import sys


def percentile(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, int(p * len(sorted_values)))]


def fmt(us):
    return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.0f} µs"


def axis_label(us):
    if us >= 1_000_000:
        return f"{us / 1_000_000:g} s"
    return f"{us / 1000:g} ms" if us >= 1000 else f"{us:g} µs"


def main():
    directory, names = sys.argv[1], sys.argv[2:]
    series = {}
    for name in names:
        try:
            with open(f"{directory}/{name}.txt") as f:
                values = sorted(float(line) for line in f if line.strip())
        except FileNotFoundError:
            values = []
        if values:
            series[name] = values
    if not series:
        sys.exit("plot-cdf.py: no samples")

    floor = percentile(series["floor"], 0.5) if "floor" in series else None
    print("| supervisor | n | p50 | p99 | p50 / floor p50 |")
    print("|---|---|---|---|---|")
    for name, values in series.items():
        ratio = f"{percentile(values, 0.5) / floor:.2f}" if floor else "-"
        print(f"| {name} | {len(values)} | {fmt(percentile(values, 0.5))} | "
              f"{fmt(percentile(values, 0.99))} | {ratio} |")

    width, height, left, right, top, bottom = 820, 420, 70, 230, 30, 50
    lo = math.floor(math.log10(min(v[0] for v in series.values())))
    hi = math.ceil(math.log10(max(v[-1] for v in series.values())))
    hi = max(hi, lo + 1)

    def x(us):
        return left + (math.log10(max(us, 10 ** lo)) - lo) / (hi - lo) * (width - left - right)

    def y(fraction):
        return top + (1 - fraction) * (height - top - bottom)

    colours = ["#444444", "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#d62728", "#e377c2",
               "#8c564b"]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="18" font-size="14">Restart: SIGKILL → the replacement\'s first '
           f'beat (CDF)</text>']
    for decade in range(lo, hi + 1):
        px = x(10 ** decade)
        label = axis_label(10 ** decade)
        out.append(f'<line x1="{px:.1f}" y1="{top}" x2="{px:.1f}" y2="{height - bottom}" '
                   f'stroke="#dddddd"/>')
        out.append(f'<text x="{px:.1f}" y="{height - bottom + 16}" text-anchor="middle">'
                   f'{label}</text>')
    for fraction in (0, 0.25, 0.5, 0.75, 0.9, 1):
        py = y(fraction)
        out.append(f'<line x1="{left}" y1="{py:.1f}" x2="{width - right}" y2="{py:.1f}" '
                   f'stroke="#eeeeee"/>')
        out.append(f'<text x="{left - 6}" y="{py + 4:.1f}" text-anchor="end">{fraction:g}</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{width - left - right}" '
               f'height="{height - top - bottom}" fill="none" stroke="black"/>')
    for k, (name, values) in enumerate(series.items()):
        colour = colours[k % len(colours)]
        points = []
        for i, v in enumerate(values):
            points.append(f"{x(v):.1f},{y(i / len(values)):.1f}")
            points.append(f"{x(v):.1f},{y((i + 1) / len(values)):.1f}")
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.8" '
                   f'points="{" ".join(points)}"/>')
        ly = top + 14 + 18 * k
        out.append(f'<line x1="{width - right + 12}" y1="{ly - 4}" x2="{width - right + 32}" '
                   f'y2="{ly - 4}" stroke="{colour}" stroke-width="3"/>')
        out.append(f'<text x="{width - right + 38}" y="{ly}">{name} ({fmt(percentile(values, 0.5))})'
                   f'</text>')
    out.append(f'<text x="{(left + width - right) / 2:.0f}" y="{height - 12}" '
               f'text-anchor="middle">latency (log scale); legend: p50</text>')
    out.append("</svg>")
    with open(f"{directory}/restart-cdf.svg", "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()

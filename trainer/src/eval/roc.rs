//! ROC curves of the probes (binary tasks) as SVG charts, one chart per task with one curve per
//! representation.

/// The ROC curve of `scores` against `positive`: (false-positive rate, true-positive rate) points from
/// (0, 0) to (1, 1), one point per distinct score (tied scores move both rates at once, so the area
/// under the polyline is the AUROC with ties counted ½).
pub fn curve(scores: &[f64], positive: &[bool]) -> Vec<(f64, f64)> {
    let p = positive.iter().filter(|x| **x).count() as f64;
    let n = positive.len() as f64 - p;
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut pts = vec![(0.0, 0.0)];
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j < order.len() && scores[order[j]] == scores[order[i]] {
            if positive[order[j]] {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
            j += 1;
        }
        pts.push((fp / n.max(1.0), tp / p.max(1.0)));
        i = j;
    }
    pts
}

/// Area under a curve's polyline (trapezoids).
pub fn area(pts: &[(f64, f64)]) -> f64 {
    pts.windows(2)
        .map(|w| (w[1].0 - w[0].0) * (w[1].1 + w[0].1) / 2.0)
        .sum()
}

pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// An SVG chart of named curves.
pub fn svg(title: &str, curves: &[(String, Vec<(f64, f64)>)]) -> String {
    // The legend sits right of the square and is as wide as the longest name.
    let longest = curves
        .iter()
        .map(|(n, _)| n.chars().count() + 8)
        .max()
        .unwrap_or(0);
    let (h, m) = (460.0, 50.0);
    let legend = 20.0 + 6.6 * longest as f64;
    let w = (h + legend).max(760.0);
    let side = h - 2.0 * m;
    let x = |v: f64| m + side * v;
    let y = |v: f64| h - m - side * v;
    let colours = [
        "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f",
        "#e377c2", "#bcbd22",
    ];
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{m}\" y=\"24\" font-size=\"15\">{}</text>\n\
         <rect x=\"{m}\" y=\"{m}\" width=\"{side}\" height=\"{side}\" fill=\"none\" stroke=\"black\"/>\n\
         <line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#bbb\" stroke-dasharray=\"4 4\"/>\n\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">false-positive rate</text>\n\
         <text x=\"14\" y=\"{}\" transform=\"rotate(-90 14 {})\" text-anchor=\"middle\">true-positive rate</text>\n",
        escape(title),
        x(0.0), y(0.0), x(1.0), y(1.0),
        x(0.5), h - m + 30.0,
        y(0.5), y(0.5),
    );
    for v in [0.0, 0.5, 1.0] {
        s.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{v}</text>\n\
             <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{v}</text>\n",
            x(v),
            h - m + 15.0,
            m - 5.0,
            y(v) + 4.0
        ));
    }
    for (i, (name, pts)) in curves.iter().enumerate() {
        let c = colours[i % colours.len()];
        let line: Vec<String> = pts
            .iter()
            .map(|(a, b)| format!("{:.1},{:.1}", x(*a), y(*b)))
            .collect();
        s.push_str(&format!(
            "<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"1.6\" points=\"{}\"/>\n\
             <text x=\"{}\" y=\"{}\" fill=\"{c}\">{} ({:.3})</text>\n",
            line.join(" "),
            w - legend,
            m + 16.0 * (i as f64 + 1.0),
            escape(name),
            area(pts)
        ));
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::auroc;

    #[test]
    fn the_area_under_the_curve_is_the_auroc_with_ties() {
        let scores = [0.9, 0.8, 0.8, 0.7, 0.3, 0.3, 0.1];
        let pos = [true, true, false, true, false, true, false];
        let c = curve(&scores, &pos);
        assert_eq!(c.first(), Some(&(0.0, 0.0)));
        assert_eq!(c.last(), Some(&(1.0, 1.0)));
        assert!((area(&c) - auroc(&scores, &pos).unwrap()).abs() < 1e-12);
        let chart = svg("a <task>", &[("m & n".into(), c)]);
        assert!(chart.contains("a &lt;task&gt;") && chart.contains("m &amp; n"));
    }
}

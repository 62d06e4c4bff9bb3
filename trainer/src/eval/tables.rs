//! What `acula eval` writes for people: the Markdown tables of `results.md` and the SVG figure of
//! retrieval examples.

use super::cells::Cell;
use super::joint::Example;
use super::roc;

/// A file-name form of a task name: lower-case letters and digits, dashes between.
pub(super) fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    s.trim_matches('-').to_string()
}

/// An SVG figure of retrieval examples (the paper's Figure 4): per alignment run, the first test
/// recording of each class and its three most similar reports, marked ✓ when written for its class.
pub(super) fn examples_svg(title: &str, rows: &[(String, Vec<Example>)]) -> String {
    let wrap = |text: &str, width: usize| -> Vec<String> {
        let mut lines = vec![String::new()];
        for word in text.split_whitespace() {
            let last = lines.last_mut().expect("one line at least");
            if !last.is_empty() && last.chars().count() + word.chars().count() >= width {
                lines.push(word.to_string());
            } else {
                if !last.is_empty() {
                    last.push(' ');
                }
                last.push_str(word);
            }
        }
        lines
    };
    let mut body = String::new();
    let mut y = 48.0;
    for (model, examples) in rows {
        for e in examples {
            body.push_str(&format!(
                "<text x=\"16\" y=\"{y}\" font-weight=\"bold\">{} · recording {} ({})</text>\n",
                roc::escape(model),
                roc::escape(&e.record_id),
                roc::escape(&e.class)
            ));
            y += 18.0;
            for (k, (report, sim, same)) in e.top.iter().enumerate() {
                let (mark, colour) = if *same {
                    ("✓", "#2ca02c")
                } else {
                    ("✗", "#d62728")
                };
                for (j, line) in wrap(report, 120).iter().enumerate() {
                    let head = if j == 0 {
                        format!(
                            "<tspan fill=\"{colour}\">{mark}</tspan> {}. ({sim:.3}) ",
                            k + 1
                        )
                    } else {
                        String::new()
                    };
                    body.push_str(&format!(
                        "<text x=\"{}\" y=\"{y}\">{head}{}</text>\n",
                        if j == 0 { 28 } else { 92 },
                        roc::escape(line)
                    ));
                    y += 16.0;
                }
            }
            y += 10.0;
        }
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1000\" height=\"{}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"16\" y=\"24\" font-size=\"15\">{}</text>\n{body}</svg>\n",
        y + 10.0,
        roc::escape(title)
    )
}

/// The Markdown tables of retrieval, zero-shot classification and retrieval examples.
pub(super) fn retrieval_table(rows: &[serde_json::Value]) -> String {
    let num = |v: &serde_json::Value| v.as_f64().map_or("–".to_string(), |x| format!("{x:.3}"));
    let f = |d: &serde_json::Value| {
        format!(
            "{} / {} / {} / {}",
            num(&d["r1"]),
            num(&d["r5"]),
            num(&d["r10"]),
            num(&d["mrr"])
        )
    };
    let mut md = String::from("\n| task | alignment run | audio→report R@1 / R@5 / R@10 / MRR | report→audio R@1 / R@5 / R@10 / MRR | R@1 by chance | queries | zero-shot AUROC | zero-shot accuracy |\n|---|---|---|---|---|---|---|---|\n");
    for r in rows {
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r["task"].as_str().unwrap_or(""),
            r["model"].as_str().unwrap_or(""),
            f(&r["audio_to_report"]),
            f(&r["report_to_audio"]),
            num(&r["audio_to_report"]["chance_r1"]),
            r["audio_to_report"]["queries"],
            num(&r["zero_shot"]["auroc"]),
            num(&r["zero_shot"]["accuracy"]),
        ));
    }
    md.push_str("\nMost similar reports of the first test recording of each class (✓: written for a recording of the same class):\n");
    for r in rows {
        for e in r["examples"].as_array().into_iter().flatten() {
            md.push_str(&format!(
                "\n- **{}**, {}, recording `{}` ({}):\n",
                r["task"].as_str().unwrap_or(""),
                r["model"].as_str().unwrap_or(""),
                e["record_id"].as_str().unwrap_or(""),
                e["class"].as_str().unwrap_or("")
            ));
            for (k, t) in e["top"].as_array().into_iter().flatten().enumerate() {
                md.push_str(&format!(
                    "  {}. {} ({}) “{}”\n",
                    k + 1,
                    if t[2].as_bool() == Some(true) {
                        "✓"
                    } else {
                        "✗"
                    },
                    num(&t[1]),
                    t[0].as_str().unwrap_or("")
                ));
            }
        }
    }
    md
}

/// The Markdown table: one row per representation, one column per task.
pub(super) fn table(models: &[String], tasks: &[serde_json::Value], cells: &[Cell]) -> String {
    let names: Vec<String> = models
        .iter()
        .map(|m| m.split_once('=').map_or(m.clone(), |(n, _)| n.to_string()))
        .collect();
    let task_names: Vec<String> = tasks
        .iter()
        .map(|t| {
            let mut n = t["task"].as_str().unwrap_or("").to_string();
            if t["synthetic"].as_bool() == Some(true) {
                n.push_str(" (synthetic)");
            }
            n
        })
        .collect();
    let mut s = format!("| representation | {} |\n", task_names.join(" | "));
    s.push_str(&format!("|---|{}\n", "---|".repeat(task_names.len())));
    for m in &names {
        let row: Vec<String> = tasks
            .iter()
            .map(|t| {
                cells
                    .iter()
                    .find(|c| &c.model == m && Some(c.task.as_str()) == t["task"].as_str())
                    .map_or("–".into(), |c| {
                        let prefix = if c.metric == "mae" { "MAE " } else { "" };
                        match c.ci95 {
                            Some([a, b]) => {
                                format!("{prefix}{:.3} ± {:.3} [{a:.2}, {b:.2}]", c.mean, c.std)
                            }
                            None => format!("{prefix}{:.3} ± {:.3}", c.mean, c.std),
                        }
                    })
            })
            .collect();
        s.push_str(&format!("| {m} | {} |\n", row.join(" | ")));
    }
    s
}

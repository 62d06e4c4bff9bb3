//! Settings and stored data: conference mode, and what the page keeps on this device (shown and
//! deleted on request).

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::net::{self, CacheUsage};
use crate::state::human_bytes;

/// What is stored, in one line: the total, then each cache's files and bytes.
fn usage_line(caches: &[CacheUsage]) -> String {
    if caches.is_empty() {
        return "Nothing is stored on this device.".to_string();
    }
    let total: u64 = caches.iter().map(|c| c.bytes()).sum();
    let lines: Vec<String> = caches
        .iter()
        .map(|c| {
            format!(
                "{}: {} files, {}",
                c.name,
                c.entries.len(),
                human_bytes(c.bytes())
            )
        })
        .collect();
    format!("{} in all. {}", human_bytes(total), lines.join("; "))
}

/// The "Settings and stored data" disclosure: `#conference`, `#cache-show`, `#cache-clear` and the
/// answer in `#cache-info`.
#[component]
pub fn Settings(
    /// Conference mode (large type).
    conference: RwSignal<bool>,
) -> impl IntoView {
    let cache_info = RwSignal::new(None::<String>);
    let show_cache = move |_| {
        spawn_local(async move {
            let text = match net::usage().await {
                Ok(caches) => usage_line(&caches),
                Err(e) => e,
            };
            cache_info.set(Some(text));
        });
    };
    let clear_cache = move |_| {
        spawn_local(async move {
            let text = match net::clear().await {
                Ok(()) => {
                    "Deleted. The model will be downloaded again on the next visit.".to_string()
                }
                Err(e) => format!("Could not delete: {e}"),
            };
            cache_info.set(Some(text));
        });
    };
    view! {
        <details class="settings">
            <summary>"Settings and stored data"</summary>
            <p>
                <label>
                    <input type="checkbox" id="conference" prop:checked=move || conference.get()
                        on:change=move |ev| conference.set(event_target_checked(&ev)) />
                    " Conference mode (large type)"
                </label>
            </p>
            <p>"The model is kept on this device so the page also works offline."</p>
            <p>
                <button type="button" id="cache-show" on:click=show_cache>"Show what is stored"</button>
                " "
                <button type="button" id="cache-clear" on:click=clear_cache>"Delete stored data"</button>
            </p>
            <p id="cache-info" aria-live="polite">{move || cache_info.get()}</p>
        </details>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_line_totals_the_caches_and_lists_each() {
        assert_eq!(usage_line(&[]), "Nothing is stored on this device.");
        let caches = vec![
            CacheUsage {
                name: "acula-bundles".into(),
                entries: vec![("a".into(), 9_000_000), ("b".into(), 200_000)],
            },
            CacheUsage {
                name: "acula-page".into(),
                entries: vec![("c".into(), 300_000)],
            },
        ];
        assert_eq!(
            usage_line(&caches),
            "9.5 MB in all. acula-bundles: 2 files, 9.2 MB; acula-page: 1 files, 300 kB"
        );
    }
}

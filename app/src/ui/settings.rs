//! Settings and stored data: conference mode, and what the page keeps on this device (shown and
//! deleted on request).

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{lang, t};
use crate::i18n::{plural, tr, Lang};
use crate::net::{self, CacheUsage};
use crate::state::human_bytes_in;

/// What is stored, in one line: the total, then each cache's files and bytes.
fn usage_line(lang: Lang, caches: &[CacheUsage]) -> String {
    if caches.is_empty() {
        return tr(lang, "storage.nothing", &[]);
    }
    let total: u64 = caches.iter().map(|c| c.bytes()).sum();
    let lines: Vec<String> = caches
        .iter()
        .map(|c| {
            format!(
                "{}: {}",
                c.name,
                plural(
                    lang,
                    "storage.files",
                    c.entries.len() as u64,
                    &[("size", &human_bytes_in(lang, c.bytes()))]
                )
            )
        })
        .collect();
    tr(
        lang,
        "storage.usage",
        &[
            ("total", &human_bytes_in(lang, total)),
            ("caches", &lines.join("; ")),
        ],
    )
}

/// The "Settings and stored data" disclosure: `#conference`, `#cache-show`, `#cache-clear` and the
/// answer in `#cache-info`.
#[component]
pub fn Settings(
    /// Conference mode (large type).
    conference: RwSignal<bool>,
) -> impl IntoView {
    let lang = lang();
    let cache_info = RwSignal::new(None::<String>);
    let show_cache = move |_| {
        spawn_local(async move {
            let text = match net::usage().await {
                Ok(caches) => usage_line(lang.get_untracked(), &caches),
                Err(e) => e,
            };
            cache_info.set(Some(text));
        });
    };
    let clear_cache = move |_| {
        spawn_local(async move {
            let l = lang.get_untracked();
            let text = match net::clear().await {
                Ok(()) => tr(l, "storage.deleted", &[]),
                Err(e) => tr(l, "storage.not_deleted", &[("why", &e)]),
            };
            cache_info.set(Some(text));
        });
    };
    view! {
        <details class="settings">
            <summary>{t("settings.title")}</summary>
            <p>
                <label>
                    <input type="checkbox" id="conference" prop:checked=move || conference.get()
                        on:change=move |ev| conference.set(event_target_checked(&ev)) />
                    " "{t("settings.conference")}
                </label>
            </p>
            <p>{t("settings.kept")}</p>
            <p>
                <button type="button" id="cache-show" on:click=show_cache>{t("storage.show")}</button>
                " "
                <button type="button" id="cache-clear" on:click=clear_cache>{t("storage.delete")}</button>
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
        assert_eq!(
            usage_line(Lang::En, &[]),
            "Nothing is stored on this device."
        );
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
            usage_line(Lang::En, &caches),
            "9.5 MB in all. acula-bundles: 2 files, 9.2 MB; acula-page: 1 file, 300 kB"
        );
        assert_eq!(
            usage_line(Lang::Ru, &caches),
            "Всего 9,5 МБ. acula-bundles: 2 файла, 9,2 МБ; acula-page: 1 файл, 300 кБ"
        );
    }
}

//! The status line, an ARIA live region: what the page is doing, or why it failed.

use leptos::prelude::*;

use crate::state::{ModelState, PageState};

/// `#status`: one line from [`PageState::status`], marked `error` on a failure.
#[component]
pub fn StatusLine(
    /// The page's state.
    #[prop(into)]
    page: Signal<PageState>,
    /// The model's state.
    #[prop(into)]
    model: Signal<ModelState>,
) -> impl IntoView {
    let lang = super::lang();
    let status = Memo::new(move |_| model.with(|m| page.with(|p| p.status(m, lang.get()))));
    view! {
        <p id="status" role="status" aria-live="polite" class:error=move || status.with(|s| s.error)>
            {move || status.with(|s| s.text.clone())}
        </p>
    }
}

//! The bundle's example recordings, one button each (shown once the model is ready).

use acula_core::bundle::Example;
use leptos::prelude::*;

use super::t;
use crate::state::ModelState;

/// "No recording at hand? Try an example": buttons `#example-0`, `#example-1`, …
#[component]
pub fn Examples(
    /// The model's state (its manifest lists the examples).
    #[prop(into)]
    model: Signal<ModelState>,
    /// Whether the page is busy (the buttons are disabled).
    #[prop(into)]
    busy: Signal<bool>,
    /// The user chose an example.
    on_play: Callback<Example>,
) -> impl IntoView {
    move || {
        let list = model.with(ModelState::examples);
        (!list.is_empty()).then(|| view! {
            <section class="examples" aria-labelledby="examples-title">
                <h2 id="examples-title">{t("examples.title")}</h2>
                <ul>
                    {list.into_iter().enumerate().map(|(i, e)| {
                        let title = e.title.clone();
                        let source = e.source.clone();
                        view! {
                            <li>
                                <button type="button" id=format!("example-{i}") prop:disabled=move || busy.get()
                                    on:click=move |_| on_play.run(e.clone()) lang="en">{title}</button>
                                <small class="muted" lang="en">" "{source}</small>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </section>
        })
    }
}

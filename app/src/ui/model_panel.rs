//! The model panel: what the model is and where it runs, the download's progress, and the switch
//! between WebGPU and the CPU.

use leptos::prelude::*;

use super::{lang, t};
use crate::i18n::tr;
use crate::protocol::BackendChoice;
use crate::state::ModelState;

/// The model's line (`#model-line`), its download progress and the backend switch.
#[component]
pub fn ModelPanel(
    /// The model's state.
    #[prop(into)]
    model: Signal<ModelState>,
    /// Loads the model again on the chosen backend.
    on_switch: Callback<BackendChoice>,
) -> impl IntoView {
    let ready = move || {
        model.with(|m| {
            m.ready().map(|l| {
                (
                    l.backend,
                    l.webgpu_available,
                    l.note.clone(),
                    l.not_kept.clone(),
                )
            })
        })
    };
    let lang = lang();
    view! {
        <section class="model" aria-label=t("model.aria")>
            <p id="model-line">{move || model.with(|m| m.line(lang.get()))}</p>
            {move || model.with(ModelState::progress).map(|(l, total)| view! {
                <progress id="model-progress" max=total.to_string() value=l.to_string()
                    aria-label=t("model.progress.aria")></progress>
            })}
            {move || ready().and_then(|r| r.3).map(|why| view! {
                <p class="notice" id="storage-note" role="status">
                    <strong>{t("storage.online_only")}" "</strong>
                    {move || tr(lang.get(), "storage.not_kept", &[("why", &why)])}
                </p>
            })}
            {move || ready().map(|(backend, gpu, note, _)| view! {
                <p class="backend">
                    {note.map(|n| view! { <span class="note" id="backend-note">{n}" "</span> })}
                    {(backend == BackendChoice::Webgpu).then(|| view! {
                        <button type="button" id="use-cpu" on:click=move |_| on_switch.run(BackendChoice::Cpu)>{t("backend.use_cpu")}</button>
                    })}
                    {(backend != BackendChoice::Webgpu && gpu).then(|| view! {
                        <button type="button" id="use-webgpu" on:click=move |_| on_switch.run(BackendChoice::Webgpu)>{t("backend.use_webgpu")}</button>
                    })}
                </p>
            })}
        </section>
    }
}

//! The model panel: what the model is and where it runs, the download's progress, and the switch
//! between WebGPU and the CPU.

use leptos::prelude::*;

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
    view! {
        <section class="model" aria-label="Model">
            <p id="model-line">{move || model.with(ModelState::line)}</p>
            {move || model.with(ModelState::progress).map(|(l, t)| view! {
                <progress id="model-progress" max=t.to_string() value=l.to_string()
                    aria-label="Model download"></progress>
            })}
            {move || ready().and_then(|r| r.3).map(|why| view! {
                <p class="notice" id="storage-note" role="status">
                    <strong>"Works only while online: "</strong>
                    {format!("the model could not be kept on this device ({why}), so it is downloaded again at each visit and the page cannot work offline. Free some space (the browser's settings, site data) and reload to keep it.")}
                </p>
            })}
            {move || ready().map(|(backend, gpu, note, _)| view! {
                <p class="backend">
                    {note.map(|n| view! { <span class="note" id="backend-note">{n}" "</span> })}
                    {(backend == BackendChoice::Webgpu).then(|| view! {
                        <button type="button" id="use-cpu" on:click=move |_| on_switch.run(BackendChoice::Cpu)>"Use the CPU instead"</button>
                    })}
                    {(backend != BackendChoice::Webgpu && gpu).then(|| view! {
                        <button type="button" id="use-webgpu" on:click=move |_| on_switch.run(BackendChoice::Webgpu)>"Use WebGPU instead"</button>
                    })}
                </p>
            })}
        </section>
    }
}

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
            m.ready()
                .map(|l| (l.backend, l.webgpu_available, l.note.clone()))
        })
    };
    view! {
        <section class="model" aria-label="Model">
            <p id="model-line">{move || model.with(ModelState::line)}</p>
            {move || model.with(ModelState::progress).map(|(l, t)| view! {
                <progress id="model-progress" max=t.to_string() value=l.to_string()
                    aria-label="Model download"></progress>
            })}
            {move || ready().map(|(backend, gpu, note)| view! {
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

//! The recording-kind picker: one radio button per [`RecordingKind`], in the order of `ALL`.

use acula_core::RecordingKind;
use leptos::prelude::*;

/// "What is the recording?": radio buttons named `kind` with the kinds' ids as values.
#[component]
pub fn KindPicker(
    /// The chosen kind.
    #[prop(into)]
    kind: Signal<Option<RecordingKind>>,
    /// The user chose a kind.
    on_choose: Callback<RecordingKind>,
) -> impl IntoView {
    view! {
        <fieldset class="kinds">
            <legend>"What is the recording?"</legend>
            {RecordingKind::ALL.into_iter().map(|k| {
                view! {
                    <label class="kind">
                        <input type="radio" name="kind" value=k.id()
                            prop:checked=move || kind.get() == Some(k)
                            on:change=move |_| on_choose.run(k) />
                        {k.label()}
                    </label>
                }
            }).collect_view()}
        </fieldset>
    }
}

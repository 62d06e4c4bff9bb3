//! The recording-kind picker: one radio button per [`RecordingKind`], in the order of `ALL`.

use acula_core::RecordingKind;
use leptos::prelude::*;

use super::{lang, t};
use crate::i18n::tr;

/// "What is the recording?": radio buttons named `kind` with the kinds' ids as values.
#[component]
pub fn KindPicker(
    /// The chosen kind.
    #[prop(into)]
    kind: Signal<Option<RecordingKind>>,
    /// The user chose a kind.
    on_choose: Callback<RecordingKind>,
) -> impl IntoView {
    let lang = lang();
    view! {
        <fieldset class="kinds">
            <legend>{t("kind.question")}</legend>
            {RecordingKind::ALL.into_iter().map(|k| {
                view! {
                    <label class="kind">
                        <input type="radio" name="kind" value=k.id()
                            prop:checked=move || kind.get() == Some(k)
                            on:change=move |_| on_choose.run(k) />
                        {move || tr(lang.get(), &format!("kind.{}", k.id()), &[])}
                    </label>
                }
            }).collect_view()}
        </fieldset>
    }
}

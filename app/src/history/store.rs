//! The history in IndexedDB (database `acula-history`, store `entries`, key `id`): each record is
//! `{id, entry, audio?}` with the entry's JSON and, only when the user asked, the recording as a WAV
//! blob. A connection is opened per operation and closed after it, so a database the browser (or the
//! user, in its settings) deletes while the page is open is simply created again by the next save.
//! The opt-in itself lives in `localStorage` (`acula.history`: `on`, `audio`, or `off` once turned off
//! with entries kept; absent before the first opt-in, when the page does not even open the database).

use js_sys::{Array, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Blob, BlobPropertyBag, IdbDatabase, IdbObjectStoreParameters, IdbRequest, IdbTransaction,
    IdbTransactionMode,
};

use super::Entry;

/// The database's name.
pub const DATABASE: &str = "acula-history";
const STORE: &str = "entries";
const VERSION: u32 = 1;
const SETTING: &str = "acula.history";

/// Whether history is on, whether recordings are kept too, and whether it was ever used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Keep {
    /// Keep each result.
    pub results: bool,
    /// Keep each recording with its result.
    pub audio: bool,
    /// History was turned on here once (so there may be entries to show, export or delete).
    pub used: bool,
}

/// The choice kept from an earlier visit (never used when `localStorage` cannot be read).
pub fn keep() -> Keep {
    let value = web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .and_then(|s| s.get_item(SETTING).ok().flatten());
    Keep {
        results: matches!(value.as_deref(), Some("on" | "audio")),
        audio: value.as_deref() == Some("audio"),
        used: value.is_some(),
    }
}

/// Remembers the choice for the next visits; `forget` (history off and emptied) removes the setting.
pub fn set_keep(keep: Keep, forget: bool) -> Result<(), String> {
    let storage = web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .ok_or("this browser keeps no settings for this page (a private window, or storage turned off)")?;
    let r = match (keep.results, keep.audio) {
        (false, _) if forget => storage.remove_item(SETTING),
        (false, _) => storage.set_item(SETTING, "off"),
        (true, false) => storage.set_item(SETTING, "on"),
        (true, true) => storage.set_item(SETTING, "audio"),
    };
    r.map_err(|e| error_words(&e))
}

/// A browser error in words, with what to do for the ones people meet.
fn error_words(e: &JsValue) -> String {
    let name = Reflect::get(e, &"name".into())
        .ok()
        .and_then(|n| n.as_string())
        .unwrap_or_default();
    match name.as_str() {
        "QuotaExceededError" => "this device's storage for the page is full; delete older history entries or the stored model (Settings), then try again".to_string(),
        "InvalidStateError" | "SecurityError" => "this browser keeps no data for this page here (a private window, or storage turned off in its settings)".to_string(),
        _ => {
            let message = Reflect::get(e, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
                .or_else(|| e.as_string())
                .unwrap_or_else(|| "unknown error".into());
            if name.is_empty() { message } else { format!("{name}: {message}") }
        }
    }
}

/// A promise for a request's result.
fn request(req: &IdbRequest) -> Promise {
    let req = req.clone();
    Promise::new(&mut |resolve, reject| {
        let r = req.clone();
        let ok = Closure::once_into_js(move |_: web_sys::Event| {
            let _ = resolve.call1(&JsValue::NULL, &r.result().unwrap_or(JsValue::UNDEFINED));
        });
        let r = req.clone();
        let failed = Closure::once_into_js(move |_: web_sys::Event| {
            let e = r
                .error()
                .ok()
                .flatten()
                .map_or(JsValue::NULL, JsValue::from);
            let _ = reject.call1(&JsValue::NULL, &e);
        });
        req.set_onsuccess(Some(ok.unchecked_ref()));
        req.set_onerror(Some(failed.unchecked_ref()));
    })
}

/// A promise that a write transaction is committed.
fn committed(tx: &IdbTransaction) -> Promise {
    let tx = tx.clone();
    Promise::new(&mut |resolve, reject| {
        let ok = Closure::once_into_js(move |_: web_sys::Event| {
            let _ = resolve.call0(&JsValue::NULL);
        });
        let t = tx.clone();
        let reject2 = reject.clone();
        let failed = Closure::once_into_js(move |_: web_sys::Event| {
            let e = t.error().map_or(JsValue::NULL, JsValue::from);
            let _ = reject.call1(&JsValue::NULL, &e);
        });
        let t = tx.clone();
        let aborted = Closure::once_into_js(move |_: web_sys::Event| {
            let e = t.error().map_or(JsValue::NULL, JsValue::from);
            let _ = reject2.call1(&JsValue::NULL, &e);
        });
        tx.set_oncomplete(Some(ok.unchecked_ref()));
        tx.set_onerror(Some(failed.unchecked_ref()));
        tx.set_onabort(Some(aborted.unchecked_ref()));
    })
}

/// Opens (creating when needed) the database.
async fn open() -> Result<IdbDatabase, String> {
    let factory = web_sys::window()
        .ok_or("no window")?
        .indexed_db()
        .map_err(|e| error_words(&e))?
        .ok_or("this browser keeps no data for this page here (IndexedDB is not available)")?;
    let req = factory
        .open_with_u32(DATABASE, VERSION)
        .map_err(|e| error_words(&e))?;
    let r = req.clone();
    let upgrade = Closure::once_into_js(move |_: web_sys::Event| {
        let Ok(db) = r.result().and_then(|d| d.dyn_into::<IdbDatabase>()) else {
            return;
        };
        if !db.object_store_names().contains(STORE) {
            let params = IdbObjectStoreParameters::new();
            params.set_key_path(&"id".into());
            let _ = db.create_object_store_with_optional_parameters(STORE, &params);
        }
    });
    req.set_onupgradeneeded(Some(upgrade.unchecked_ref()));
    let db = JsFuture::from(request(&req))
        .await
        .map_err(|e| error_words(&e))?;
    db.dyn_into::<IdbDatabase>()
        .map_err(|_| "IndexedDB returned no database".to_string())
}

/// Runs `f` on the store in a transaction of `mode` and waits for it; the connection is closed after.
async fn with_store<T>(
    mode: IdbTransactionMode,
    f: impl FnOnce(&web_sys::IdbObjectStore) -> Result<Option<IdbRequest>, JsValue>,
    read: impl FnOnce(JsValue) -> T,
) -> Result<T, String> {
    let db = open().await?;
    let result = async {
        let tx = db
            .transaction_with_str_and_mode(STORE, mode)
            .map_err(|e| error_words(&e))?;
        let store = tx.object_store(STORE).map_err(|e| error_words(&e))?;
        let done = committed(&tx);
        let req = f(&store).map_err(|e| error_words(&e))?;
        let value = match req {
            Some(r) => JsFuture::from(request(&r))
                .await
                .map_err(|e| error_words(&e))?,
            None => JsValue::UNDEFINED,
        };
        JsFuture::from(done).await.map_err(|e| error_words(&e))?;
        Ok(read(value))
    }
    .await;
    db.close();
    result
}

/// Keeps `entry` (replacing one with the same id), with the recording's WAV bytes when given.
pub async fn save(entry: &Entry, wav: Option<&[u8]>) -> Result<(), String> {
    let record = Object::new();
    let _ = Reflect::set(&record, &"id".into(), &entry.id.into());
    let _ = Reflect::set(&record, &"entry".into(), &entry.to_json().into());
    if let Some(bytes) = wav {
        let parts = Array::of1(&js_sys::Uint8Array::from(bytes));
        let bag = BlobPropertyBag::new();
        bag.set_type("audio/wav");
        let blob = Blob::new_with_u8_array_sequence_and_options(&parts, &bag)
            .map_err(|e| error_words(&e))?;
        let _ = Reflect::set(&record, &"audio".into(), &blob);
    }
    with_store(
        IdbTransactionMode::Readwrite,
        |s| s.put(&record).map(Some),
        |_| (),
    )
    .await
}

/// Every entry, oldest first, and how many records could not be read.
pub async fn load() -> Result<(Vec<Entry>, usize), String> {
    let records = with_store(
        IdbTransactionMode::Readonly,
        |s| s.get_all().map(Some),
        |v| v.dyn_into::<Array>().unwrap_or_else(|_| Array::new()),
    )
    .await?;
    let mut entries = Vec::new();
    let mut unreadable = 0;
    for r in records.iter() {
        let json = Reflect::get(&r, &"entry".into())
            .ok()
            .and_then(|j| j.as_string());
        match json.as_deref().and_then(Entry::parse) {
            Some(e) => entries.push(e),
            None => unreadable += 1,
        }
    }
    entries.sort_by(|a, b| a.id.total_cmp(&b.id));
    Ok((entries, unreadable))
}

/// The recording kept with entry `id` (`None` when there is none).
pub async fn audio(id: f64) -> Result<Option<Blob>, String> {
    with_store(
        IdbTransactionMode::Readonly,
        |s| s.get(&id.into()).map(Some),
        |v| {
            Reflect::get(&v, &"audio".into())
                .ok()
                .and_then(|a| a.dyn_into::<Blob>().ok())
        },
    )
    .await
}

/// Deletes entry `id` (and its recording).
pub async fn delete(id: f64) -> Result<(), String> {
    with_store(
        IdbTransactionMode::Readwrite,
        |s| s.delete(&id.into()).map(Some),
        |_| (),
    )
    .await
}

/// Deletes every entry.
pub async fn clear() -> Result<(), String> {
    with_store(
        IdbTransactionMode::Readwrite,
        |s| s.clear().map(Some),
        |_| (),
    )
    .await
}

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

/// The reasons people meet, as catalogue keys (the page says them in its language; any other error is
/// the browser's own words).
const FULL: &str = "history.error.full";
const UNAVAILABLE: &str = "history.error.unavailable";

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
        .ok_or(UNAVAILABLE)?;
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
        "QuotaExceededError" => FULL.to_string(),
        "InvalidStateError" | "SecurityError" => UNAVAILABLE.to_string(),
        _ => {
            let message = Reflect::get(e, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
                .or_else(|| e.as_string())
                .unwrap_or_else(|| "unknown error".into());
            if name.is_empty() {
                message
            } else {
                format!("{name}: {message}")
            }
        }
    }
}

/// A promise with its resolving functions (the executor runs synchronously, so both are there).
fn deferred() -> Result<(Promise, js_sys::Function, js_sys::Function), JsValue> {
    let mut slots = None;
    let promise = Promise::new(&mut |resolve, reject| slots = Some((resolve, reject)));
    let (resolve, reject) = slots.ok_or_else(|| JsValue::from_str("no promise executor"))?;
    Ok((promise, resolve, reject))
}

/// An event handler kept in Rust (dropped, and so freed, once the operation is over).
type Handler = Closure<dyn FnMut(web_sys::Event)>;

/// Waits for a request's result. The handlers are removed and freed afterwards, whichever fired, so
/// nothing (not the result either) is kept alive by an operation that is over.
async fn request(req: &IdbRequest) -> Result<JsValue, JsValue> {
    let (promise, resolve, reject) = deferred()?;
    let ok: Handler = Closure::new(move |ev: web_sys::Event| {
        let value = ev
            .target()
            .and_then(|t| t.dyn_into::<IdbRequest>().ok())
            .and_then(|r| r.result().ok())
            .unwrap_or(JsValue::UNDEFINED);
        let _ = resolve.call1(&JsValue::NULL, &value);
    });
    let failed: Handler = Closure::new(move |ev: web_sys::Event| {
        let error = ev
            .target()
            .and_then(|t| t.dyn_into::<IdbRequest>().ok())
            .and_then(|r| r.error().ok().flatten())
            .map_or(JsValue::NULL, JsValue::from);
        let _ = reject.call1(&JsValue::NULL, &error);
    });
    req.set_onsuccess(Some(ok.as_ref().unchecked_ref()));
    req.set_onerror(Some(failed.as_ref().unchecked_ref()));
    let out = JsFuture::from(promise).await;
    req.set_onsuccess(None);
    req.set_onerror(None);
    drop((ok, failed));
    out
}

/// Waits until a transaction is committed (or says why it failed); its handlers are freed after.
async fn committed(tx: &IdbTransaction) -> Result<(), JsValue> {
    let (promise, resolve, reject) = deferred()?;
    let ok: Handler = Closure::new(move |_: web_sys::Event| {
        let _ = resolve.call0(&JsValue::NULL);
    });
    let t = tx.clone();
    let failed: Handler = Closure::new(move |_: web_sys::Event| {
        let error = t.error().map_or(JsValue::NULL, JsValue::from);
        let _ = reject.call1(&JsValue::NULL, &error);
    });
    tx.set_oncomplete(Some(ok.as_ref().unchecked_ref()));
    tx.set_onerror(Some(failed.as_ref().unchecked_ref()));
    tx.set_onabort(Some(failed.as_ref().unchecked_ref()));
    let out = JsFuture::from(promise).await;
    tx.set_oncomplete(None);
    tx.set_onerror(None);
    tx.set_onabort(None);
    drop((ok, failed));
    out.map(|_| ())
}

/// Opens (creating when needed) the database.
async fn open() -> Result<IdbDatabase, String> {
    let factory = web_sys::window()
        .ok_or("no window")?
        .indexed_db()
        .map_err(|e| error_words(&e))?
        .ok_or(UNAVAILABLE)?;
    let req = factory
        .open_with_u32(DATABASE, VERSION)
        .map_err(|e| error_words(&e))?;
    let upgrade: Handler = Closure::new(move |ev: web_sys::Event| {
        let Some(db) = ev
            .target()
            .and_then(|t| t.dyn_into::<IdbRequest>().ok())
            .and_then(|r| r.result().ok())
            .and_then(|d| d.dyn_into::<IdbDatabase>().ok())
        else {
            return;
        };
        if !db.object_store_names().contains(STORE) {
            let params = IdbObjectStoreParameters::new();
            params.set_key_path(&"id".into());
            let _ = db.create_object_store_with_optional_parameters(STORE, &params);
        }
    });
    req.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
    let db = request(&req).await;
    req.set_onupgradeneeded(None);
    drop(upgrade);
    db.map_err(|e| error_words(&e))?
        .dyn_into::<IdbDatabase>()
        .map_err(|_| "IndexedDB returned no database".to_string())
}

/// Runs `f` on the store in a transaction of `mode` and waits for it to be committed (also when the
/// request failed, so that no rejection goes unhandled); the connection is closed after.
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
        let value = match f(&store) {
            Ok(Some(r)) => request(&r).await,
            Ok(None) => Ok(JsValue::UNDEFINED),
            Err(e) => {
                let _ = tx.abort();
                Err(e)
            }
        };
        let done = committed(&tx).await;
        let value = value.map_err(|e| error_words(&e))?;
        done.map_err(|e| error_words(&e))?;
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

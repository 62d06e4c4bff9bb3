//! The page's words: a message catalogue per language (`app/i18n/en.json`, `app/i18n/ru.json`; keys
//! to templates with `{name}` placeholders; plurals as `key.one` / `key.few` / `key.many` / `key.other`
//! by CLDR's rules), the language chosen from the browser's preferences or the person's switch, and
//! numbers and dates in that language's conventions. A key missing from a catalogue falls back to
//! English; a browser language without a catalogue gets English. Shared by the page and the analyser
//! (whose progress lines are shown on the page).

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// A language the page has a catalogue for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// English (the fallback).
    #[default]
    En,
    /// Russian (the cough data's language).
    Ru,
}

impl Lang {
    /// Every language, in the order the switch lists them.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Ru];

    /// Its code ("en", "ru"): `<html lang>`, the stored choice, the `?lang=` parameter.
    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Ru => "ru",
        }
    }

    /// Its name in itself, as the switch shows it.
    pub fn name(self) -> &'static str {
        match self {
            Self::En => "English",
            Self::Ru => "Русский",
        }
    }

    /// The language of a BCP 47 tag ("ru-RU", "en", "RU"), when there is a catalogue for it.
    pub fn from_tag(tag: &str) -> Option<Self> {
        let primary = tag.split(['-', '_']).next()?.trim().to_ascii_lowercase();
        Self::ALL.into_iter().find(|l| l.code() == primary)
    }

    /// The language to show: the person's choice (`?lang=` or the switch, remembered), else the first
    /// of the browser's preferred languages with a catalogue, else English.
    pub fn pick(chosen: Option<&str>, preferred: &[String]) -> Self {
        chosen
            .and_then(Self::from_tag)
            .or_else(|| preferred.iter().find_map(|t| Self::from_tag(t)))
            .unwrap_or_default()
    }

    /// The locale for numbers and dates: the browser's own tag when it is of this language
    /// ("en-GB" keeps its dates), else the language's code.
    pub fn locale(self, browser: &str) -> String {
        if Self::from_tag(browser) == Some(self) {
            browser.to_string()
        } else {
            self.code().to_string()
        }
    }

    /// The decimal separator of this language's numbers (used where the browser's `Intl` is not at
    /// hand: native tests).
    fn decimal(self) -> char {
        match self {
            Self::En => '.',
            Self::Ru => ',',
        }
    }
}

type Catalogue = HashMap<String, String>;

fn parse(json: &str) -> Catalogue {
    serde_json::from_str(json).unwrap_or_default()
}

fn catalogues() -> &'static [Catalogue; 2] {
    static C: OnceLock<[Catalogue; 2]> = OnceLock::new();
    C.get_or_init(|| {
        [
            parse(include_str!("../i18n/en.json")),
            parse(include_str!("../i18n/ru.json")),
        ]
    })
}

fn catalogue(lang: Lang) -> &'static Catalogue {
    &catalogues()[lang as usize]
}

/// The template of `key` in `lang` (English when `lang`'s catalogue lacks it; the key itself when
/// English does too, so that a missing message is visible, and the catalogue test catches it).
pub fn template(lang: Lang, key: &str) -> &str {
    catalogue(lang)
        .get(key)
        .or_else(|| catalogue(Lang::En).get(key))
        .map_or(key, String::as_str)
}

/// `template` with each `{name}` replaced by its value, in one pass (a value that itself contains
/// `{…}`, such as a file name, is left as it is); unknown placeholders stay.
pub fn fill(template: &str, args: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match args.iter().find(|(n, _)| *n == name) {
                    Some((_, value)) => out.push_str(value),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The message `key` in `lang`, filled.
pub fn tr(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    fill(template(lang, key), args)
}

/// The plural category of `n` in `lang` (CLDR: English one/other; Russian one/few/many).
pub fn plural_category(lang: Lang, n: u64) -> &'static str {
    match lang {
        Lang::En => {
            if n == 1 {
                "one"
            } else {
                "other"
            }
        }
        Lang::Ru => {
            let (m10, m100) = (n % 10, n % 100);
            if m10 == 1 && m100 != 11 {
                "one"
            } else if (2..=4).contains(&m10) && !(12..=14).contains(&m100) {
                "few"
            } else {
                "many"
            }
        }
    }
}

/// The plural message `key` for `n` (`key.one`, `key.few`, …; `{n}` is filled with `n` in `lang`'s
/// digits, then `args`).
pub fn plural(lang: Lang, key: &str, n: u64, args: &[(&str, &str)]) -> String {
    let category = plural_category(lang, n);
    let full = format!("{key}.{category}");
    let english = format!("{key}.{}", if n == 1 { "one" } else { "other" });
    let t = catalogue(lang)
        .get(&full)
        .or_else(|| catalogue(lang).get(&format!("{key}.other")))
        .map_or_else(|| template(Lang::En, &english).to_string(), Clone::clone);
    let count = n.to_string();
    let mut all = vec![("n", count.as_str())];
    all.extend_from_slice(args);
    fill(&t, &all)
}

/// `x` with `decimals` decimals in `lang`'s conventions ("0.52", "0,52"; "1,234.5", "1 234,5").
pub fn number(lang: Lang, x: f64, decimals: usize) -> String {
    #[cfg(target_arch = "wasm32")]
    if let Some(s) = intl_number(lang, x, decimals) {
        return s;
    }
    let s = format!("{x:.decimals$}");
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i.to_string(), Some(f.to_string())),
        None => (s.clone(), None),
    };
    let (sign, digits) = match int.strip_prefix('-') {
        Some(d) => ("-", d.to_string()),
        None => ("", int),
    };
    let sep = match lang {
        Lang::En => ",",
        Lang::Ru => "\u{a0}",
    };
    let mut grouped = String::new();
    if digits.len() >= 4 {
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push_str(sep);
            }
            grouped.push(c);
        }
    } else {
        grouped = digits;
    }
    match frac {
        Some(f) => format!("{sign}{grouped}{}{f}", lang.decimal()),
        None => format!("{sign}{grouped}"),
    }
}

/// The browser's `Intl.NumberFormat` for `lang` (with the browser's locale when it is that language).
#[cfg(target_arch = "wasm32")]
fn intl_number(lang: Lang, x: f64, decimals: usize) -> Option<String> {
    use wasm_bindgen::JsValue;
    let locale = lang.locale(&browser_locale());
    let options = js_sys::Object::new();
    let d = JsValue::from_f64(decimals as f64);
    js_sys::Reflect::set(&options, &"minimumFractionDigits".into(), &d).ok()?;
    js_sys::Reflect::set(&options, &"maximumFractionDigits".into(), &d).ok()?;
    let locales = js_sys::Array::of1(&JsValue::from_str(&locale));
    let f = js_sys::Intl::NumberFormat::new(&locales, &options);
    f.format()
        .call1(&JsValue::NULL, &JsValue::from_f64(x))
        .ok()?
        .as_string()
}

/// The browser's preferred language tag ("en-GB"), from the window or the worker's navigator; "en"
/// when none is given.
pub fn browser_locale() -> String {
    preferred_languages()
        .into_iter()
        .next()
        .unwrap_or_else(|| "en".to_string())
}

/// The browser's preferred languages, most preferred first (`navigator.languages`).
pub fn preferred_languages() -> Vec<String> {
    #[cfg(target_arch = "wasm32")]
    {
        use wasm_bindgen::JsCast;
        let global = js_sys::global();
        let navigator = js_sys::Reflect::get(&global, &"navigator".into()).ok();
        let list = navigator
            .as_ref()
            .and_then(|n| js_sys::Reflect::get(n, &"languages".into()).ok())
            .and_then(|l| l.dyn_into::<js_sys::Array>().ok());
        let mut out: Vec<String> = list
            .map(|l| l.iter().filter_map(|v| v.as_string()).collect())
            .unwrap_or_default();
        if out.is_empty() {
            if let Some(l) = navigator
                .and_then(|n| js_sys::Reflect::get(&n, &"language".into()).ok())
                .and_then(|l| l.as_string())
            {
                out.push(l);
            }
        }
        out
    }
    #[cfg(not(target_arch = "wasm32"))]
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn placeholders(t: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut rest = t;
        while let Some(i) = rest.find('{') {
            match rest[i..].find('}') {
                Some(j) => {
                    out.insert(rest[i + 1..i + j].to_string());
                    rest = &rest[i + j + 1..];
                }
                None => break,
            }
        }
        out
    }

    /// The key without its plural category.
    fn base(key: &str) -> &str {
        for c in [".one", ".few", ".many", ".other"] {
            if let Some(b) = key.strip_suffix(c) {
                return b;
            }
        }
        key
    }

    #[test]
    fn both_catalogues_parse_and_have_the_same_messages_with_the_same_placeholders() {
        let en: Catalogue = serde_json::from_str(include_str!("../i18n/en.json")).unwrap();
        let ru: Catalogue = serde_json::from_str(include_str!("../i18n/ru.json")).unwrap();
        assert!(en.len() > 100, "{} English messages", en.len());
        let en_bases: BTreeSet<&str> = en.keys().map(|k| base(k)).collect();
        let ru_bases: BTreeSet<&str> = ru.keys().map(|k| base(k)).collect();
        assert_eq!(
            en_bases.difference(&ru_bases).collect::<Vec<_>>(),
            Vec::<&&str>::new(),
            "messages without a Russian translation"
        );
        assert_eq!(
            ru_bases.difference(&en_bases).collect::<Vec<_>>(),
            Vec::<&&str>::new(),
            "Russian messages that English lacks"
        );
        for (k, t) in &ru {
            // A plural's forms are compared with English's "other" form, leaving out the count
            // (English's "one" may say "one", Russian's "one" form also covers 21, 31, …).
            let plural = base(k) != k.as_str();
            let e = if plural {
                &en[&format!("{}.other", base(k))]
            } else {
                &en[k]
            };
            let (mut a, mut b) = (placeholders(t), placeholders(e));
            if plural {
                a.remove("n");
                b.remove("n");
            }
            assert_eq!(a, b, "placeholders of {k}");
        }
        // Every plural has the forms its language needs.
        for (cat, forms) in [
            (&en, &["one", "other"][..]),
            (&ru, &["one", "few", "many"][..]),
        ] {
            for k in cat.keys().filter(|k| base(k) != k.as_str()) {
                for f in forms {
                    assert!(
                        cat.contains_key(&format!("{}.{f}", base(k))),
                        "{k} lacks .{f}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_language_comes_from_the_choice_then_the_browser_then_english() {
        let prefs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(Lang::pick(None, &prefs(&["ru-RU", "en-US"])), Lang::Ru);
        assert_eq!(Lang::pick(None, &prefs(&["de-DE", "ru"])), Lang::Ru);
        assert_eq!(Lang::pick(None, &prefs(&["de-DE", "fr"])), Lang::En);
        assert_eq!(Lang::pick(None, &[]), Lang::En);
        assert_eq!(Lang::pick(Some("en"), &prefs(&["ru-RU"])), Lang::En);
        assert_eq!(Lang::pick(Some("xx"), &prefs(&["ru-RU"])), Lang::Ru);
        assert_eq!(Lang::from_tag("RU_ru"), Some(Lang::Ru));
        assert_eq!(Lang::Ru.locale("ru-UA"), "ru-UA");
        assert_eq!(Lang::Ru.locale("en-GB"), "ru");
        assert_eq!(Lang::En.locale("en-GB"), "en-GB");
    }

    #[test]
    fn russian_plurals_follow_cldr() {
        let cats: Vec<&str> = [1, 2, 5, 11, 12, 21, 22, 25, 101, 111, 0]
            .iter()
            .map(|n| plural_category(Lang::Ru, *n))
            .collect();
        assert_eq!(
            cats,
            ["one", "few", "many", "many", "many", "one", "few", "many", "one", "many", "many"]
        );
        assert_eq!(plural_category(Lang::En, 1), "one");
        assert_eq!(plural_category(Lang::En, 0), "other");
        assert_eq!(plural(Lang::En, "coughs.found", 1, &[]), "one cough found");
        assert_eq!(plural(Lang::Ru, "coughs.found", 3, &[]), "найдено 3 кашля");
        assert_eq!(plural(Lang::Ru, "coughs.found", 5, &[]), "найдено 5 кашлей");
    }

    #[test]
    fn numbers_follow_the_language() {
        assert_eq!(number(Lang::En, 0.5234, 2), "0.52");
        assert_eq!(number(Lang::Ru, 0.5234, 2), "0,52");
        assert_eq!(number(Lang::En, 16000.0, 0), "16,000");
        assert_eq!(number(Lang::Ru, 16000.0, 0), "16\u{a0}000");
        assert_eq!(number(Lang::Ru, 1234.5, 1), "1\u{a0}234,5");
        assert_eq!(number(Lang::En, -1234.5, 1), "-1,234.5");
    }

    /// Every message key the code names (a string literal such as `"history.kept"`, with one of the
    /// catalogue's prefixes) is in the English catalogue, directly or as a plural; and so is each
    /// recording kind's and verdict's.
    #[test]
    fn every_key_the_code_names_is_in_the_catalogue() {
        let en: Catalogue = serde_json::from_str(include_str!("../i18n/en.json")).unwrap();
        let prefixes: BTreeSet<&str> = en.keys().filter_map(|k| k.split('.').next()).collect();
        let has = |k: &str| en.contains_key(k) || en.contains_key(&format!("{k}.other"));
        let mut files = vec![std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")];
        let mut missing = Vec::new();
        let mut seen = 0;
        while let Some(path) = files.pop() {
            if path.is_dir() {
                files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for (i, literal) in text.split('"').enumerate() {
                let key_like = i % 2 == 1
                    && literal.contains('.')
                    && !literal.ends_with('.')
                    && literal
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.');
                let prefix = literal.split('.').next().unwrap_or_default();
                let file_name = [".json", ".safetensors", ".js", ".wasm", ".wav", ".rs"]
                    .iter()
                    .any(|x| literal.ends_with(x));
                if key_like && prefixes.contains(prefix) && !file_name {
                    seen += 1;
                    if !has(literal) {
                        missing.push(format!("{}: {literal}", path.display()));
                    }
                }
            }
        }
        assert!(seen > 150, "only {seen} keys found in the code");
        for kind in acula_core::RecordingKind::ALL {
            for k in [
                format!("kind.{}", kind.id()),
                format!("kind.{}.plain", kind.id()),
            ] {
                if !has(&k) {
                    missing.push(k);
                }
            }
        }
        for v in [
            "ok",
            "no_sound",
            "too_quiet",
            "clipped",
            "too_short",
            "too_long",
            "no_cough",
        ] {
            for part in ["title", "message"] {
                let k = format!("verdict.{v}.{part}");
                if !has(&k) {
                    missing.push(k);
                }
            }
        }
        assert!(
            missing.is_empty(),
            "keys missing from en.json: {missing:#?}"
        );
    }

    #[test]
    fn a_missing_message_falls_back_to_english_then_to_its_key() {
        assert_eq!(template(Lang::Ru, "no.such.key"), "no.such.key");
        assert_eq!(
            fill("{a} and {b} and {a}", &[("a", "1"), ("b", "2")]),
            "1 and 2 and 1"
        );
        // One pass: a value holding a placeholder's name is not filled again.
        assert_eq!(
            fill(
                "{name} is {size}",
                &[("name", "x{size}.wav"), ("size", "3 MB")]
            ),
            "x{size}.wav is 3 MB"
        );
        assert_eq!(fill("{unknown} {", &[]), "{unknown} {");
    }
}

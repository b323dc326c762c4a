//! `revisions!`: one `pub const` a revision, named from its file's slug, and
//! `HEAD`, so a renamed or deleted migration breaks the build of the code
//! that names it.

use crate::input::Input;
use migrate_core::{Diagnostics, Migration};
use proc_macro2::TokenStream;
use quote::quote;
use std::collections::HashMap;

/// The items for a valid folder: `pub const NAME: &str = "id";` for each
/// revision, in application order, then `pub const HEAD`.
pub fn items(migrations: &[Migration]) -> TokenStream {
    let names = names(migrations);
    let consts = migrations.iter().zip(&names).map(|(m, name)| {
        let id = m.revision();
        let doc = format!("`{id}`: {} (`{}`).", m.message(), m.file());
        quote! {
            #[doc = #doc]
            pub const #name: &str = #id;
        }
    });
    let head = migrations.last().map_or("", Migration::revision);
    let doc = format!("The head revision, `{head}`: what `upgrade` to `head` reaches.");
    quote! {
        #(#consts)*
        #[doc = #doc]
        pub const HEAD: &str = #head;
    }
}

/// Each revision's constant name: its file name's slug (what follows
/// `<id>_`) in upper case; `REVISION_<ID>` for a file without one. A name
/// two revisions (or `HEAD`) would share gets `_<ID>` on each.
fn names(migrations: &[Migration]) -> Vec<proc_macro2::Ident> {
    let slugs: Vec<String> = migrations.iter().map(slug).collect();
    let mut count: HashMap<&str, usize> = HashMap::from([("HEAD", 1)]);
    for s in &slugs {
        *count.entry(s.as_str()).or_default() += 1;
    }
    migrations
        .iter()
        .zip(&slugs)
        .map(|(m, s)| {
            let name = if count[s.as_str()] > 1 {
                format!("{s}_{}", m.revision().to_ascii_uppercase())
            } else {
                s.clone()
            };
            ident(&name, m.revision())
        })
        .collect()
}

/// The slug of `m`'s file name, as an upper-case identifier.
fn slug(m: &Migration) -> String {
    let name = m.file().rsplit('/').next().unwrap_or_default();
    let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
    let rest = stem.strip_prefix(m.revision()).unwrap_or_default();
    let words: Vec<String> = rest
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_uppercase)
        .collect();
    match words.first() {
        Some(first) if !first.starts_with(|c: char| c.is_ascii_digit()) => words.join("_"),
        _ => format!("REVISION_{}", m.revision().to_ascii_uppercase()),
    }
}

/// `name` as an identifier, or `REVISION_<ID>` should it not be one.
fn ident(name: &str, id: &str) -> proc_macro2::Ident {
    syn::parse_str::<syn::Ident>(name).unwrap_or_else(|_| quote::format_ident!("REVISION_{}", id.to_ascii_uppercase()))
}

/// The items for a folder with problems: its `compile_error!`s on the
/// literal, and `HEAD` alone, so only the names of revisions go missing.
pub fn errors(input: &Input, diagnostics: &Diagnostics) -> TokenStream {
    let span = input.lit.span();
    let errors = diagnostics
        .iter()
        .map(|d| syn::Error::new(span, format!("{d:#}")).to_compile_error());
    fallback(quote!(#(#errors)*))
}

/// `errors`, then `pub const HEAD: &str = "";`.
pub fn fallback(errors: TokenStream) -> TokenStream {
    quote! {
        #errors
        /// The head revision (none: the folder has problems).
        pub const HEAD: &str = "";
    }
}

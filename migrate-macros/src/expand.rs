//! The tokens: one static table of literals, plus one `include_str!` per
//! file so that editing a migration rebuilds the crate.

use crate::input::Input;
use migrate_core::{Diagnostics, Migration};
use proc_macro2::TokenStream;
use quote::quote;

/// The expansion for a valid folder and its repeatable revisions.
pub fn migrations(input: &Input, migrations: &[Migration], repeatables: &[Migration]) -> TokenStream {
    // What an up-to-date history hashes to, so a start-up check costs one row.
    let digest = migrate_core::Digest::all_applied_with(migrations, repeatables).to_string();
    let repeatable_dir = input.dir.join(migrate_core::repeatable::FOLDER);
    let tracked = migrations
        .iter()
        .map(|m| (&input.dir, m))
        .chain(repeatables.iter().map(|m| (&repeatable_dir, m)))
        .map(|(dir, m)| {
            let name = m.file().rsplit('/').next().unwrap_or(m.file());
            let path = dir.join(name).to_string_lossy().into_owned();
            quote!(::core::include_str!(#path))
        });
    let entries = migrations.iter().map(embedded);
    // Rust revisions: modules of the crate, and their functions beside the list.
    let (rust_items, steps) =
        crate::rust::steps(input, migrations).unwrap_or_else(|| (TokenStream::new(), quote!(&[])));
    let again = repeatables.iter().map(embedded);
    // The batch loop is linked only into an application whose history has a backfill.
    let backfills = migrations.iter().any(|m| m.backfill().is_some());
    // And the statement-by-statement runner only where a migration needs it (MySQL's driver has its own).
    let statements = migrations.iter().chain(repeatables).any(Migration::no_transaction);
    quote! {{
        const _: &[&str] = &[#(#tracked),*];
        const LIST: &[::migrate::__private::Migration] = &[#(#entries),*];
        const REPEATABLES: &[::migrate::__private::Migration] = &[#(#again),*];
        #rust_items
        ::migrate::Migrations::__embedded_with(LIST, #digest, #steps, REPEATABLES, #backfills, #statements)
    }}
}

/// One migration as a constant expression: [`Migration::__EMBEDDED`] with
/// each part assigned by name, handed to `Migration::__embedded`.
///
/// [`Migration::__EMBEDDED`]: migrate_core::Migration::__EMBEDDED
fn embedded(m: &Migration) -> TokenStream {
    let revision = m.revision();
    let parents = m.down_revisions();
    let message = m.message();
    let checksum = m.checksum().bytes().to_vec();
    let upgrade = m.upgrade_sql();
    let downgrade = option(m.downgrade_sql().map(|d| quote!(#d)));
    let no_transaction = m.no_transaction();
    let d = m.directives();
    let phase = option(d.phase.map(|p| match p {
        migrate_core::Phase::Expand => quote!(::migrate::__private::Phase::Expand),
        migrate_core::Phase::Backfill => quote!(::migrate::__private::Phase::Backfill),
        migrate_core::Phase::Contract => quote!(::migrate::__private::Phase::Contract),
    }));
    let duration = |t: Option<std::time::Duration>| {
        option(t.map(|t| {
            let ms = t.as_millis() as u64;
            quote!(::core::time::Duration::from_millis(#ms))
        }))
    };
    let (lock, statement) = (duration(d.lock_timeout), duration(d.statement_timeout));
    let foreign_keys_off = d.foreign_keys_off;
    let max_lock = option(d.max_lock.map(|l| {
        // The variant's name is its Debug form.
        let variant = proc_macro2::Ident::new(&format!("{l:?}"), proc_macro2::Span::call_site());
        quote!(::migrate::__private::TableLock::#variant)
    }));
    let depends = m.depends_on().map(|(set, rev)| quote!((#set, #rev)));
    let runs_after = m.runs_after();
    let file = m.file();
    let backfill = option(m.backfill().map(|b| {
        let (table, key, batch) = (b.table(), b.key(), b.batch());
        quote!((#table, #key, #batch))
    }));
    let vars = m.vars().map(|v| {
        let (name, default, secret) = (v.name().to_owned(), option(v.default().map(|d| quote!(#d))), v.secret());
        quote!((#name, #default, #secret))
    });
    // A squash baseline's replaced ids and release; nothing for any other revision.
    let squash = m.squashed_lines().map(|release| {
        let replaces = m.replaces();
        quote!(m.replaces = &[#(#replaces),*]; m.squashed = ::core::option::Option::Some(#release);)
    });
    let language = match m.language() {
        migrate_core::Language::Sql => quote!(::migrate::__private::Language::Sql),
        migrate_core::Language::Rust => quote!(::migrate::__private::Language::Rust),
    };
    quote! {{
        let mut m = ::migrate::__private::Migration::__EMBEDDED;
        m.revision = #revision;
        m.down_revisions = &[#(#parents),*];
        m.message = #message;
        m.checksum = [#(#checksum),*];
        m.upgrade = #upgrade;
        m.downgrade = #downgrade;
        m.no_transaction = #no_transaction;
        m.directives.phase = #phase;
        m.directives.lock_timeout = #lock;
        m.directives.statement_timeout = #statement;
        m.directives.foreign_keys_off = #foreign_keys_off;
        m.directives.max_lock = #max_lock;
        m.depends_on = &[#(#depends),*];
        m.runs_after = &[#(#runs_after),*];
        m.file = #file;
        m.language = #language;
        m.backfill = #backfill;
        m.vars = &[#(#vars),*];
        #squash
        ::migrate::__private::Migration::__embedded(m)
    }}
}

/// `Some(value)` or `None`, as tokens.
fn option(value: Option<TokenStream>) -> TokenStream {
    match value {
        Some(v) => quote!(::core::option::Option::Some(#v)),
        None => quote!(::core::option::Option::None),
    }
}

/// The expansion for a folder with problems: one `compile_error!` each, on the literal.
pub fn errors(input: &Input, diagnostics: &Diagnostics) -> TokenStream {
    let span = input.lit.span();
    let errors = diagnostics
        .iter()
        .map(|d| syn::Error::new(span, format!("{d:#}")).to_compile_error());
    fallback(quote!(#(#errors)*))
}

/// `errors`, then a well-typed empty list so nothing else fails to compile.
pub fn fallback(errors: TokenStream) -> TokenStream {
    quote! {{
        #errors
        ::migrate::Migrations::__embedded(&[])
    }}
}

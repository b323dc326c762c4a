//! The tokens: one static table of literals, plus one `include_str!` per
//! file so that editing a migration rebuilds the crate.

use crate::input::Input;
use migrate_core::{Diagnostics, Migration};
use proc_macro2::TokenStream;
use quote::quote;

/// The expansion for a valid folder.
pub fn migrations(input: &Input, migrations: &[Migration]) -> TokenStream {
    // What an up-to-date history hashes to, so a start-up check costs one row.
    let digest = migrate_core::Digest::all_applied(migrations).to_string();
    let tracked = migrations.iter().map(|m| {
        let name = m.file().rsplit('/').next().unwrap_or(m.file());
        let path = input.dir.join(name).to_string_lossy().into_owned();
        quote!(::core::include_str!(#path))
    });
    let entries = migrations.iter().map(|m| {
        let revision = m.revision();
        let parents = m.down_revisions();
        let message = m.message();
        let checksum = m.checksum().bytes().to_vec();
        let upgrade = m.upgrade_sql();
        let downgrade = match m.downgrade_sql() {
            Some(d) => quote!(::core::option::Option::Some(#d)),
            None => quote!(::core::option::Option::None),
        };
        let no_transaction = m.no_transaction();
        let d = m.directives();
        let phase = match d.phase {
            Some(migrate_core::Phase::Expand) => {
                quote!(::core::option::Option::Some(::migrate::__private::Phase::Expand))
            }
            Some(migrate_core::Phase::Contract) => {
                quote!(::core::option::Option::Some(::migrate::__private::Phase::Contract))
            }
            None => quote!(::core::option::Option::None),
        };
        let ms = |t: Option<std::time::Duration>| match t {
            Some(t) => {
                let ms = t.as_millis() as u64;
                quote!(::core::option::Option::Some(#ms))
            }
            None => quote!(::core::option::Option::None),
        };
        let (lock, statement) = (ms(d.lock_timeout), ms(d.statement_timeout));
        let foreign_keys_off = d.foreign_keys_off;
        let depends = m.depends_on().map(|(set, rev)| quote!((#set, #rev)));
        let file = m.file();
        quote! {
            ::migrate::__private::Migration::__embedded(
                #revision, &[#(#parents),*], #message, [#(#checksum),*], #upgrade, #downgrade, #no_transaction,
                (#phase, #lock, #statement, #foreign_keys_off), &[#(#depends),*], #file,
            )
        }
    });
    quote! {{
        const _: &[&str] = &[#(#tracked),*];
        const LIST: &[::migrate::__private::Migration] = &[#(#entries),*];
        ::migrate::Migrations::__embedded_with_digest(LIST, #digest)
    }}
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

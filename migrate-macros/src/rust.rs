//! The tokens of a folder's Rust revisions: each file a module of the
//! user's crate (`#[path]` to its absolute path, so rustc compiles and
//! type-checks it with the crate, points its errors into it, and rebuilds
//! on an edit), and a list of function pointers boxing each revision's
//! `upgrade` and `downgrade` futures, handed to the runtime beside the
//! migrations.

use crate::input::Input;
use migrate_core::Migration;
use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

/// The items (modules, shims) and the `&[RustStep]` list for the Rust
/// revisions among `migrations`; `None` when there is none.
pub fn steps(input: &Input, migrations: &[Migration]) -> Option<(TokenStream, TokenStream)> {
    let rust: Vec<&Migration> = migrations.iter().filter(|m| m.is_rust()).collect();
    if rust.is_empty() {
        return None;
    }
    let (items, entries): (Vec<TokenStream>, Vec<TokenStream>) = rust.iter().map(|m| revision(input, m)).unzip();
    Some((quote!(#(#items)*), quote!(&[#(#entries),*])))
}

/// One revision's module and shims, and its `RustStep`.
fn revision(input: &Input, m: &Migration) -> (TokenStream, TokenStream) {
    let name = m.file().rsplit('/').next().unwrap_or(m.file());
    // Its real path (links resolved), which rustc's errors in it name.
    let path = input.dir.join(name);
    let path = std::fs::canonicalize(&path)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned();
    // A revision id is `[A-Za-z0-9_]`, so it ends an identifier.
    let id = m.revision();
    let module = Ident::new(&format!("__migrate_rev_{id}"), Span::call_site());
    let up = format_ident!("__migrate_up_{}", id);
    let down = format_ident!("__migrate_down_{}", id);
    let shim = |f: &Ident, function: &str| {
        let function = Ident::new(function, Span::call_site());
        quote! {
            fn #f<'a, 'c>(
                conn: &'a mut ::migrate::Connection<'c>,
            ) -> ::migrate::__private::BoxFuture<'a, ::migrate::RustResult> {
                ::std::boxed::Box::pin(#module::#function(conn))
            }
        }
    };
    let up_shim = shim(&up, "upgrade");
    let (down_shim, down_entry) = match m.downgrade_sql() {
        Some(_) => (
            shim(&down, "downgrade"),
            quote!(::core::option::Option::Some(#down as ::migrate::__private::RustFn)),
        ),
        None => (TokenStream::new(), quote!(::core::option::Option::None)),
    };
    let items = quote! {
        #[path = #path]
        mod #module;
        #up_shim
        #down_shim
    };
    let entry = quote! {
        ::migrate::__private::RustStep {
            revision: #id,
            upgrade: #up as ::migrate::__private::RustFn,
            downgrade: #down_entry,
        }
    };
    (items, entry)
}

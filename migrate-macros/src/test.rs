//! `#[migrate::test]`: an async test given a pool or connection of a fresh,
//! migrated database. The expansion is a plain `#[test]` (or the
//! `#[tokio::test]` written below it) whose body hands the user's function,
//! nested inside, to `migrate::__private::testing::run`.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, ItemFn, Path, PathArguments, Type};

/// The attribute's arguments: nothing, or `migrations = PATH`.
pub struct Args {
    /// The `Migrations` static; `crate::MIGRATIONS` when not given.
    migrations: Option<Path>,
}

impl Parse for Args {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut migrations = None;
        while !input.is_empty() {
            let key: syn::Ident = input.parse()?;
            if key != "migrations" {
                return Err(syn::Error::new(
                    key.span(),
                    format!("unknown argument `{key}`: `#[migrate::test]` takes `migrations = PATH` only"),
                ));
            }
            if migrations.is_some() {
                return Err(syn::Error::new(key.span(), "`migrations` is given twice"));
            }
            let _: syn::Token![=] = input.parse()?;
            migrations = Some(input.parse::<Path>().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "expected the path of a `migrate::Migrations` static, e.g. `migrations = crate::db::MIGRATIONS`",
                )
            })?);
            let _: Option<syn::Token![,]> = input.parse()?;
        }
        Ok(Args { migrations })
    }
}

/// The pools and connections the attribute knows, by their type's last segment.
const KNOWN: &[&str] = &[
    "SqlitePool",
    "SqliteConnection",
    "PgPool",
    "PgConnection",
    "MySqlPool",
    "MySqlConnection",
];

/// The expansion of `#[migrate::test(args)] item`.
pub fn expand(args: &Args, item: ItemFn) -> TokenStream {
    match check(&item) {
        Ok(ty) => wrap(args, item, ty),
        Err(e) => {
            // The function as written, so nothing else fails to compile.
            let errors = e.to_compile_error();
            quote! {
                #errors
                #[allow(dead_code)]
                #item
            }
        }
    }
}

/// The argument's type, once the function is one the attribute can run.
fn check(item: &ItemFn) -> syn::Result<Type> {
    let sig = &item.sig;
    if sig.asyncness.is_none() {
        return Err(syn::Error::new(
            sig.fn_token.span(),
            "`#[migrate::test]` needs an `async fn`: its argument is a pool or connection it opens for the test",
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(syn::Error::new(
            sig.generics.span(),
            "a `#[migrate::test]` function cannot be generic",
        ));
    }
    let mut inputs = sig.inputs.iter();
    let (Some(arg), None) = (inputs.next(), inputs.next()) else {
        let span = if sig.inputs.is_empty() {
            sig.ident.span()
        } else {
            sig.inputs.span()
        };
        return Err(syn::Error::new(
            span,
            format!(
                "a `#[migrate::test]` function takes one argument, the database: e.g. `pool: sqlx::PgPool` ({})",
                KNOWN.join(", ")
            ),
        ));
    };
    let FnArg::Typed(arg) = arg else {
        return Err(syn::Error::new(
            arg.span(),
            "a `#[migrate::test]` function cannot take `self`",
        ));
    };
    database_type(&arg.ty)?;
    Ok((*arg.ty).clone())
}

/// Which database the type is of, from its path as written.
fn database_type(ty: &Type) -> syn::Result<&'static str> {
    let unknown = |written: String| {
        syn::Error::new_spanned(
            ty,
            format!(
                "`#[migrate::test]` cannot make a database for `{written}`: take one of {}, by value (or `sqlx::Pool<Sqlite>`, `Pool<Postgres>`, `Pool<MySql>`)",
                KNOWN.join(", ")
            ),
        )
    };
    let written = ty.to_token_stream().to_string().replace(' ', "");
    match ty {
        // A type passed through `macro_rules!` (`$t:ty`), or written in parentheses.
        Type::Group(g) => database_type(&g.elem),
        Type::Paren(p) => database_type(&p.elem),
        Type::Reference(r) => Err(syn::Error::new_spanned(
            r,
            format!(
                "take the database by value: `{}` (the test owns its pool or connection; `#[migrate::test]` closes it afterwards)",
                r.elem.to_token_stream().to_string().replace(' ', "")
            ),
        )),
        Type::Path(p) if p.qself.is_none() => {
            let Some(last) = p.path.segments.last() else {
                return Err(unknown(written));
            };
            let name = last.ident.to_string();
            let database = match name.as_str() {
                "SqlitePool" | "SqliteConnection" => "sqlite",
                "PgPool" | "PgConnection" => "postgres",
                "MySqlPool" | "MySqlConnection" => "mysql",
                "Pool" => match &last.arguments {
                    PathArguments::AngleBracketed(a) if a.args.len() == 1 => match a.args.first() {
                        Some(GenericArgument::Type(Type::Path(db))) => {
                            match db.path.segments.last().map(|s| s.ident.to_string()).as_deref() {
                                Some("Sqlite") => "sqlite",
                                Some("Postgres") => "postgres",
                                Some("MySql") => "mysql",
                                _ => return Err(unknown(written)),
                            }
                        }
                        _ => return Err(unknown(written)),
                    },
                    _ => return Err(unknown(written)),
                },
                _ => return Err(unknown(written)),
            };
            Ok(database)
        }
        _ => Err(unknown(written)),
    }
}

/// What a `#[should_panic]` among `attrs` expects: `None` when there is
/// none, `Some(None)` for any panic, `Some(Some(text))` for
/// `#[should_panic(expected = "text")]` or `#[should_panic = "text"]`. A
/// malformed one is rustc's to report; it reads as any panic.
fn should_panic(attrs: &[syn::Attribute]) -> Option<Option<syn::LitStr>> {
    let attr = attrs.iter().find(|a| a.path().is_ident("should_panic"))?;
    let text = |value: &syn::Expr| match value {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s), ..
        }) => Some(s.clone()),
        _ => None,
    };
    Some(match &attr.meta {
        syn::Meta::Path(_) => None,
        syn::Meta::NameValue(nv) => text(&nv.value),
        syn::Meta::List(list) => list
            .parse_args_with(syn::punctuated::Punctuated::<syn::MetaNameValue, syn::Token![,]>::parse_terminated)
            .ok()
            .and_then(|items| {
                items
                    .iter()
                    .find(|nv| nv.path.is_ident("expected"))
                    .and_then(|nv| text(&nv.value))
            }),
    })
}

/// Whether an attribute is `#[tokio::test]` (any arguments).
fn is_tokio_test(attr: &syn::Attribute) -> bool {
    let segments: Vec<String> = attr.path().segments.iter().map(|s| s.ident.to_string()).collect();
    segments == ["tokio", "test"]
}

fn wrap(args: &Args, item: ItemFn, ty: Type) -> TokenStream {
    let ItemFn { attrs, vis, sig, block } = item;
    let name = &sig.ident;
    let output = &sig.output;
    let span = sig.ident.span();
    let migrations = match &args.migrations {
        Some(path) => path.to_token_stream(),
        None => quote_spanned!(Span::call_site()=> crate::MIGRATIONS),
    };
    let (tokio, attrs): (Vec<_>, Vec<_>) = attrs.into_iter().partition(is_tokio_test);
    let inner = quote_spanned! {span=>
        #sig #block
    };
    let test = quote!(::core::concat!(::core::module_path!(), "::", ::core::stringify!(#name)));
    // A `#[should_panic]` test passes by panicking: its database is then dropped.
    let run = match should_panic(&attrs) {
        None => quote! {
            ::migrate::__private::testing::run::<#ty, _, _, _>(&#migrations, #test, #name)
        },
        Some(expected) => {
            let expected = match expected {
                Some(text) => quote!(::core::option::Option::Some(#text)),
                None => quote!(::core::option::Option::None),
            };
            quote! {
                ::migrate::__private::testing::run_should_panic::<#ty, _, _, _>(&#migrations, #test, #expected, #name)
            }
        }
    };
    match tokio.first() {
        // Under the runtime `#[tokio::test]` (below this attribute) builds.
        Some(tokio) => quote! {
            #(#attrs)*
            #tokio
            #vis async fn #name() #output {
                #inner
                #run.await
            }
        },
        None => quote! {
            #(#attrs)*
            #[::core::prelude::v1::test]
            #vis fn #name() #output {
                #inner
                ::migrate::__private::testing::block_on(#run)
            }
        },
    }
}

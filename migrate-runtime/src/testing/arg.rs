//! What a `#[migrate::test]` function takes ([`TestArg`]: a pool or a
//! connection, by value) and returns ([`Outcome`]).

use super::{Engine, Error, Fresh};
use crate::driver::{BoxFuture, Driver};

/// What a test function returns: `()` or a `Result`.
pub trait Outcome {
    /// Whether the test passed.
    fn passed(&self) -> bool;
}

impl Outcome for () {
    fn passed(&self) -> bool {
        true
    }
}

impl<T, E> Outcome for Result<T, E> {
    fn passed(&self) -> bool {
        self.is_ok()
    }
}

/// What a pool or connection the test is given closes when the test ends.
#[doc(hidden)]
pub struct Closer(Option<BoxFuture<'static, ()>>);

impl Closer {
    /// Nothing to close: the body owned the connection and dropped it.
    pub(super) fn none() -> Closer {
        Closer(None)
    }

    /// A clone of the test's pool, closed when the test ends.
    fn pool<DB: Driver>(pool: sqlx::Pool<DB>) -> Closer {
        Closer(Some(Box::pin(async move { pool.close().await })))
    }

    pub(super) async fn close(self) {
        if let Some(close) = self.0 {
            close.await;
        }
    }
}

pub(super) mod sealed {
    pub trait Sealed {}
}

/// What a `#[migrate::test]` function can take: `SqlitePool`, `PgPool`,
/// `MySqlPool`, or `SqliteConnection`, `PgConnection`, `MySqlConnection`, by value.
#[diagnostic::on_unimplemented(
    message = "`#[migrate::test]` cannot give a test a `{Self}`",
    note = "take a `SqlitePool`, `PgPool`, `MySqlPool` or their connection types, with migrate's feature for that database enabled"
)]
pub trait TestArg: Sized + sealed::Sealed {
    /// The database it is of.
    const ENGINE: Engine;
    /// Opens it on the fresh database.
    #[doc(hidden)]
    fn open(fresh: &Fresh) -> BoxFuture<'_, Result<(Self, Closer), Error>>;
}

impl<DB: Driver> sealed::Sealed for sqlx::Pool<DB> {}

impl<DB: Driver> TestArg for sqlx::Pool<DB> {
    const ENGINE: Engine = DB::DIALECT;

    fn open(fresh: &Fresh) -> BoxFuture<'_, Result<(Self, Closer), Error>> {
        Box::pin(async move {
            let pool = sqlx::Pool::<DB>::connect(fresh.url())
                .await
                .map_err(|e| fresh.connect_error(e))?;
            Ok((pool.clone(), Closer::pool(pool)))
        })
    }
}

/// Opens a connection of type `C` on the fresh database: what each
/// database's connection type does as a [`TestArg`] (in its own file).
pub(super) fn connection<C: sqlx::Connection>(fresh: &Fresh) -> BoxFuture<'_, Result<(C, Closer), Error>> {
    Box::pin(async move {
        let conn = C::connect(fresh.url()).await.map_err(|e| fresh.connect_error(e))?;
        Ok((conn, Closer::none()))
    })
}

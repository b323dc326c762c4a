//! [`Handle`]: the connection a run holds, and the concrete [`Connect`](crate::Connect)
//! implementations for each database's pools, connections and transactions.

use super::*;

/// A connection the runtime holds for a whole run, which it can ask to be
/// closed rather than reused when the run did not end cleanly (so no lock
/// or open transaction goes back into a pool).
pub trait Handle: Send {
    /// The connection, for the runtime's one compiled body.
    #[doc(hidden)]
    fn backend(&mut self) -> &mut dyn Backend;

    #[doc(hidden)]
    fn discard_on_drop(&mut self);

    /// A way to open a second connection to the same database, when the
    /// handle came from a pool.
    #[doc(hidden)]
    fn second(&self) -> Option<Second> {
        None
    }
}

impl<DB: Driver> Handle for sqlx::pool::PoolConnection<DB> {
    fn backend(&mut self) -> &mut dyn Backend {
        DB::backend(&mut **self)
    }

    fn discard_on_drop(&mut self) {
        self.close_on_drop();
    }
}

/// A connection taken from the caller's pool, with the pool, which can lend a second one.
pub(crate) struct Pooled<DB: Driver> {
    conn: sqlx::pool::PoolConnection<DB>,
    pool: sqlx::Pool<DB>,
}

impl<DB: Driver> Handle for Pooled<DB> {
    fn backend(&mut self) -> &mut dyn Backend {
        DB::backend(&mut *self.conn)
    }

    fn discard_on_drop(&mut self) {
        self.conn.close_on_drop();
    }

    fn second(&self) -> Option<Second> {
        let pool = self.pool.clone();
        Some(Second(Arc::new(move || {
            let pool = pool.clone();
            Box::pin(async move {
                // A pool with no connection to spare (max_connections(1)) lends none.
                let conn = tokio::time::timeout(Duration::from_secs(1), pool.acquire())
                    .await
                    .ok()?
                    .ok()?;
                Some(Box::new(conn) as Box<dyn Handle>)
            })
        })))
    }
}

/// What a run can be given, per database: each `connect` is concrete, and a
/// borrowed connection as a [`Handle`]. A pool's `connect` is inlined into
/// the caller's crate, whose own use of the pool has compiled sqlx's
/// `acquire` for it already (rustc instantiates a generic in the crate that
/// uses it, so from here it would be a second copy of that code); the run
/// itself, behind `dyn Handle`, is compiled once, here.
///
/// A macro because a function cannot write trait impls, and blanket impls
/// over sqlx's generic types would be instantiated in the caller's crate,
/// which is what the concrete impls exist to avoid (the run compiled once).
macro_rules! connect_impls {
    ($($db:ty => $conn:ty),*) => {$(
        impl Handle for &mut $conn {
            fn backend(&mut self) -> &mut dyn Backend {
                <$db as Driver>::backend(&mut **self)
            }

            fn discard_on_drop(&mut self) {
                tracing::warn!("a migration run did not end cleanly on a caller's connection; close that connection");
            }
        }

        impl sealed::Sealed for &sqlx::Pool<$db> {}
        impl<'c> crate::migrator::Connect<'c> for &'c sqlx::Pool<$db> {
            #[inline]
            fn connect(self) -> BoxFuture<'c, Result<Box<dyn Handle + 'c>>> {
                Box::pin(async move {
                    let conn = self.acquire().await.map_err(db("connecting to the database"))?;
                    Ok(Box::new(Pooled { conn, pool: self.clone() }) as Box<dyn Handle + 'c>)
                })
            }
        }

        impl sealed::Sealed for &mut $conn {}
        impl<'c> crate::migrator::Connect<'c> for &'c mut $conn {
            #[inline(never)]
            fn connect(self) -> BoxFuture<'c, Result<Box<dyn Handle + 'c>>> {
                Box::pin(async move { Ok(Box::new(self) as Box<dyn Handle + 'c>) })
            }
        }

        impl sealed::Sealed for &mut sqlx::pool::PoolConnection<$db> {}
        impl<'c> crate::migrator::Connect<'c> for &'c mut sqlx::pool::PoolConnection<$db> {
            #[inline(never)]
            fn connect(self) -> BoxFuture<'c, Result<Box<dyn Handle + 'c>>> {
                Box::pin(async move { Ok(Box::new(&mut **self) as Box<dyn Handle + 'c>) })
            }
        }

        impl sealed::Sealed for &mut sqlx::Transaction<'_, $db> {}
        impl<'c> crate::migrator::Connect<'c> for &'c mut sqlx::Transaction<'_, $db> {
            #[inline(never)]
            fn connect(self) -> BoxFuture<'c, Result<Box<dyn Handle + 'c>>> {
                Box::pin(async move { Ok(Box::new(&mut **self) as Box<dyn Handle + 'c>) })
            }
        }
    )*};
}
#[cfg(feature = "sqlite")]
connect_impls!(sqlx::Sqlite => sqlx::SqliteConnection);
#[cfg(feature = "postgres")]
connect_impls!(sqlx::Postgres => sqlx::PgConnection);
#[cfg(feature = "mysql")]
connect_impls!(sqlx::MySql => sqlx::MySqlConnection);

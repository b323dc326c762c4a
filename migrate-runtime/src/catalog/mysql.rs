//! mysql: not written yet.

use crate::driver::Backend;
use crate::error::{Error, Result};
use migrate_core::schema::Schema;

pub(super) async fn read(_conn: &mut dyn Backend) -> Result<Schema> {
    Err(Error::Database {
        context: "reading the mysql catalog: not written yet".into(),
        source: sqlx::Error::Protocol("no catalog reader".into()),
    })
}

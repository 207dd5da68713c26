//! The databases Backstop recognises by image, and the usual pre-backup hook for each.

/// A database engine: the image names it ships as, and the hook that makes a volume copy of
/// it consistent (a dump written into the backed-up volume, or a write lock held until the post
/// hook releases it).
#[derive(Debug)]
pub struct Engine {
    pub name: &'static str,
    /// Repository names (the last path component, without tag or digest): exact, or a prefix
    /// when ending in `-` (`spilo-` for `spilo-16`).
    pub images: &'static [&'static str],
    /// The pre hook's command as Velero's annotation takes it (a JSON array); `{mount}` is the
    /// mount path of the claim's volume in the database container.
    pub pre: &'static str,
    /// The post hook that undoes a lock the pre hook takes.
    pub post: Option<&'static str>,
    /// What the hook does, for the message.
    pub effect: &'static str,
}

/// Known databases, checked in order (MongoDB before MySQL: `percona-server-mongodb`).
pub const ENGINES: &[Engine] = &[
    Engine {
        name: "PostgreSQL",
        images: &[
            "postgres",
            "postgresql",
            "postgresql-repmgr",
            "postgis",
            "timescaledb",
            "timescaledb-ha",
            "spilo-",
            "crunchy-postgres",
        ],
        pre: r#"["/bin/sh","-c","pg_dumpall -U \"${POSTGRES_USER:-postgres}\" -f {mount}/velero-pre-backup.sql"]"#,
        post: None,
        effect: "writes a consistent dump into the backed-up volume",
    },
    Engine {
        name: "MongoDB",
        images: &[
            "mongo",
            "mongodb",
            "percona-server-mongodb",
            "mongodb-community-server",
            "mongodb-enterprise-server",
        ],
        pre: r#"["mongosh","--quiet","--eval","db.fsyncLock()"]"#,
        post: Some(r#"["mongosh","--quiet","--eval","db.fsyncUnlock()"]"#),
        effect: "flushes and locks writes until the post hook unlocks them",
    },
    Engine {
        name: "MySQL/MariaDB",
        images: &[
            "mysql",
            "mysql-server",
            "mariadb",
            "mariadb-galera",
            "percona-server",
            "percona-xtradb-cluster",
        ],
        pre: r#"["/bin/sh","-c","mysqldump --all-databases --single-transaction -uroot -p\"${MYSQL_ROOT_PASSWORD:-$MARIADB_ROOT_PASSWORD}\" > {mount}/velero-pre-backup.sql"]"#,
        post: None,
        effect: "writes a consistent dump into the backed-up volume (a FLUSH TABLES WITH READ LOCK hook is released as soon as the hook's session ends)",
    },
    Engine {
        name: "ClickHouse",
        images: &["clickhouse", "clickhouse-server"],
        pre: r#"["/bin/sh","-c","clickhouse-client --query \"SYSTEM STOP MERGES\" && clickhouse-client --query \"SYSTEM FLUSH LOGS\""]"#,
        post: Some(r#"["clickhouse-client","--query","SYSTEM START MERGES"]"#),
        effect: "stops background merges until the post hook restarts them (ALTER TABLE ... FREEZE or clickhouse-backup give a fully consistent copy)",
    },
    Engine {
        name: "Redis",
        images: &[
            "redis",
            "redis-stack",
            "redis-stack-server",
            "redis-cluster",
            "valkey",
            "keydb",
        ],
        pre: r#"["redis-cli","SAVE"]"#,
        post: None,
        effect: "writes a point-in-time RDB snapshot into its data directory",
    },
    Engine {
        name: "Elasticsearch/OpenSearch",
        images: &["elasticsearch", "opensearch"],
        pre: r#"["curl","-s","-XPOST","http://localhost:9200/_flush"]"#,
        post: None,
        effect: "flushes every index to disk (its snapshot API is the supported backup)",
    },
    Engine {
        name: "etcd",
        images: &["etcd"],
        pre: r#"["/bin/sh","-c","etcdctl snapshot save {mount}/velero-pre-backup.db"]"#,
        post: None,
        effect: "writes a consistent snapshot into the backed-up volume",
    },
    Engine {
        name: "Vault",
        images: &["vault", "vault-enterprise"],
        pre: r#"["/bin/sh","-c","vault operator raft snapshot save {mount}/velero-pre-backup.snap"]"#,
        post: None,
        effect: "writes a consistent raft snapshot into the backed-up volume (it needs a token allowed to take snapshots)",
    },
    Engine {
        name: "Cassandra",
        images: &["cassandra"],
        pre: r#"["nodetool","flush"]"#,
        post: None,
        effect: "flushes memtables to SSTables on disk",
    },
];

/// The engine an image reference runs, by its repository's last path component
/// (`registry.example/db/postgres:16@sha256:...` → `postgres`).
pub(super) fn engine_of(image: &str) -> Option<&'static Engine> {
    let name = repository_name(image);
    if name.is_empty() {
        return None;
    }
    ENGINES.iter().find(|engine| {
        engine
            .images
            .iter()
            .any(|known| match known.strip_suffix('-') {
                Some(prefix) => name
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('-')),
                None => name == *known,
            })
    })
}

fn repository_name(image: &str) -> String {
    let without_digest = image.split('@').next().unwrap_or_default();
    let last = without_digest.rsplit('/').next().unwrap_or_default();
    let without_tag = last.split(':').next().unwrap_or_default();
    without_tag.to_ascii_lowercase()
}

impl Engine {
    /// The usual hook as the pod annotations to add, for `container` with the volume at `mount`.
    pub fn suggestion(&self, container: &str, mount: &str) -> String {
        let pre = self.pre.replace("{mount}", mount);
        let mut text = format!(
            "The usual hook for {}: annotate the pod template pre.hook.backup.velero.io/container: {container} and pre.hook.backup.velero.io/command: '{pre}'",
            self.name
        );
        if let Some(post) = self.post {
            text.push_str(&format!(
                ", with post.hook.backup.velero.io/container: {container} and post.hook.backup.velero.io/command: '{post}'"
            ));
        }
        text.push_str(&format!(
            " (it {}), or add the same as a hooks.resources entry of the schedule's template.",
            self.effect
        ));
        text
    }
}

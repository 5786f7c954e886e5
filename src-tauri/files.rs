//! The files codexia writes itself, and the directory they live in: one writer for private
//! files (`config.json`, `auth.json`, `daemon.env`, …), the credentials lock, and the check of
//! `$CODEXIA_HOME`.
//!
//! Invariants, because `$CODEXIA_HOME` may sit where other local users can reach:
//! - A private file is written to a temporary file next to it with a random name
//!   (`.NAME.RANDOM.tmp`), created exclusively (`O_CREAT|O_EXCL|O_NOFOLLOW`) with mode 0600,
//!   synced, renamed over the target, and the directory is synced: a reader sees the old or the
//!   new file, never half of one, and a crash leaves at most a leftover temporary file.
//! - Nothing is written through a symbolic link: a link planted at the temporary name makes the
//!   exclusive create fail (another name is tried), and a link at the target is refused with
//!   [`SYMLINK_REFUSED`] rather than silently replaced. The lock is opened `O_NOFOLLOW` too.
//! - A home that other users can write, or that belongs to another user, is refused with one
//!   sentence saying how to fix it ([`UnsafeHome`]); one that is only group-writable and ours is
//!   repaired to 0700 (the common `umask 002` case).

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Why a symbolic link at a file codexia writes is refused (the path is named by the caller).
pub(crate) const SYMLINK_REFUSED: &str = "it is a symbolic link, and codexia never writes through one; \
     replace the link with the file itself, or remove it";

/// How many random temporary names are tried before giving up (each clash is either a
/// planted file or a one-in-2^64 coincidence).
const TEMP_NAME_ATTEMPTS: usize = 8;

/// `$CODEXIA_HOME` is not safe to keep secrets in. Each message is one sentence with the fix.
#[derive(Debug, thiserror::Error)]
pub enum UnsafeHome {
    #[error(
        "{path} is writable by other users, who could plant files there that codexia would trust; run `chmod 700 {path}` or point CODEXIA_HOME at a private directory"
    )]
    WritableByOthers { path: PathBuf },
    #[error(
        "{path} belongs to another user (uid {owner}), who could change what codexia reads there; point CODEXIA_HOME at a directory of your own"
    )]
    OwnedByOther { path: PathBuf, owner: u32 },
    #[error("{path} is not a directory; remove it or point CODEXIA_HOME at a directory")]
    NotADirectory { path: PathBuf },
    #[error("cannot check {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl From<UnsafeHome> for io::Error {
    fn from(err: UnsafeHome) -> Self {
        let kind = match &err {
            UnsafeHome::Io { source, .. } => source.kind(),
            _ => io::ErrorKind::PermissionDenied,
        };
        io::Error::new(kind, err)
    }
}

/// Checks `$CODEXIA_HOME` (a missing one is fine: it will be created 0700). Refuses a home that
/// other users can write or that is not ours; repairs a group-writable one of ours to 0700.
pub(crate) fn check_home(home: &Path) -> Result<(), UnsafeHome> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let io_error = |source| UnsafeHome::Io {
            path: home.to_owned(),
            source,
        };
        // Follows a symlinked home on purpose: pointing CODEXIA_HOME (or ~/.codexia) at
        // another directory is the user's choice; that directory is what gets checked.
        let meta = match std::fs::metadata(home) {
            Ok(meta) => meta,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(io_error(err)),
        };
        if !meta.is_dir() {
            return Err(UnsafeHome::NotADirectory {
                path: home.to_owned(),
            });
        }
        let me = rustix::process::geteuid().as_raw();
        if meta.uid() != me {
            return Err(UnsafeHome::OwnedByOther {
                path: home.to_owned(),
                owner: meta.uid(),
            });
        }
        let mode = meta.permissions().mode();
        // World-writable: anyone may already have planted files, so fixing the mode quietly
        // would hide that; the user decides.
        if mode & 0o002 != 0 {
            return Err(UnsafeHome::WritableByOthers {
                path: home.to_owned(),
            });
        }
        if mode & 0o020 != 0 {
            std::fs::set_permissions(home, std::fs::Permissions::from_mode(0o700))
                .map_err(io_error)?;
        }
    }
    Ok(())
}

/// Creates `$CODEXIA_HOME` (0700) when missing, checks it ([`check_home`]) and keeps it at
/// 0700: codexia's own directory holds secrets and nothing else.
pub(crate) fn prepare_home(home: &Path) -> io::Result<()> {
    create_private_dir(home)?;
    check_home(home)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(home)?.permissions().mode() & 0o777;
        if mode != 0o700 {
            std::fs::set_permissions(home, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    Ok(())
}

/// Creates `dir` and its missing parents with mode 0700; an existing directory is left as is.
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Replaces `path` with `bytes`, mode 0600, atomically and durably (see the module comment);
/// a missing parent directory is created 0700. A symbolic link at `path` is refused.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = parent(path);
    create_private_dir(dir)?;
    refuse_symlink(path)?;
    let (tmp, mut file) = create_temp(path)?;
    let written = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| {
            drop(file);
            // rename(2) replaces the directory entry itself: even a link planted at `path`
            // after the check above is replaced, never written through.
            std::fs::rename(&tmp, path)
        });
    if let Err(err) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(err);
    }
    sync_dir(dir);
    Ok(())
}

/// Renames a complete temporary file of [`write_private`] (left by a crash) over `path`, with
/// the same care: a symbolic link at `path` is refused, the directory is synced.
pub(crate) fn promote(tmp: &Path, path: &Path) -> io::Result<()> {
    refuse_symlink(path)?;
    #[cfg(unix)]
    {
        // Whoever wrote it, it ends up private and on disk before it replaces anything.
        use rustix::fs::{Mode, OFlags};
        let fd = rustix::fs::open(
            tmp,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|errno| match errno {
            rustix::io::Errno::LOOP => symlink_error(),
            errno => errno.into(),
        })?;
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o600))?;
        File::from(fd).sync_all()?;
    }
    std::fs::rename(tmp, path)?;
    sync_dir(parent(path));
    Ok(())
}

/// Opens (creating it 0600 when missing) a lock file, refusing a symbolic link.
pub(crate) fn open_lock(path: &Path) -> io::Result<File> {
    create_private_dir(parent(path))?;
    #[cfg(unix)]
    {
        use rustix::fs::{Mode, OFlags};
        let flags = OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        match rustix::fs::open(path, flags, Mode::from_raw_mode(0o600)) {
            Ok(fd) => Ok(File::from(fd)),
            Err(rustix::io::Errno::LOOP) => Err(symlink_error()),
            Err(errno) => Err(errno.into()),
        }
    }
    #[cfg(not(unix))]
    {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
    }
}

/// Opens `path` for appending, creating it 0600 when missing (a log file): a symbolic link at
/// `path` is refused with [`SYMLINK_REFUSED`] (`O_NOFOLLOW`), never written through; an
/// existing file is made 0600 before anything is written to it.
pub(crate) fn open_private_append(path: &Path) -> io::Result<File> {
    #[cfg(unix)]
    {
        use rustix::fs::{Mode, OFlags};
        let flags =
            OFlags::WRONLY | OFlags::APPEND | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = match rustix::fs::open(path, flags, Mode::from_raw_mode(0o600)) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::LOOP) => return Err(symlink_error()),
            Err(errno) => return Err(errno.into()),
        };
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o600))?;
        Ok(File::from(fd))
    }
    #[cfg(not(unix))]
    {
        refuse_symlink(path)?;
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
    }
}

/// Creates `dir` (0700) like [`create_private_dir`], refusing a symbolic link at `dir`: files
/// created inside it then land where codexia means them to.
pub(crate) fn create_private_subdir(dir: &Path) -> io::Result<()> {
    refuse_symlink(dir)?;
    create_private_dir(dir)
}

/// The temporary names [`write_private`] uses for `path`: `.NAME.` + random + `.tmp`.
pub(crate) fn is_temp_of(path: &Path, candidate: &Path) -> bool {
    let (Some(name), Some(other)) = (path.file_name(), candidate.file_name()) else {
        return false;
    };
    let (name, other) = (name.to_string_lossy(), other.to_string_lossy());
    other
        .strip_prefix(&format!(".{name}."))
        .and_then(|rest| rest.strip_suffix(".tmp"))
        .is_some_and(|random| !random.is_empty())
}

fn parent(path: &Path) -> &Path {
    path.parent().unwrap_or_else(|| Path::new(""))
}

fn symlink_error() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, SYMLINK_REFUSED)
}

fn refuse_symlink(path: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(symlink_error()),
        Ok(_) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(err),
    }
}

/// A new temporary file next to `path` under a random name, created exclusively.
fn create_temp(path: &Path) -> io::Result<(PathBuf, File)> {
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let mut last = None;
    for _ in 0..TEMP_NAME_ATTEMPTS {
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).map_err(|e| io::Error::other(e.to_string()))?;
        let random: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
        let tmp = path.with_file_name(format!(".{name}.{random}.tmp"));
        match create_exclusive(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => last = Some(err),
            Err(err) => return Err(err),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no temporary name could be created")))
}

/// Creates `path` with `O_CREAT|O_EXCL|O_NOFOLLOW` and mode 0600: fails on anything already
/// there, a symbolic link included (even a dangling one).
pub(crate) fn create_exclusive(path: &Path) -> io::Result<File> {
    #[cfg(unix)]
    {
        use rustix::fs::{Mode, OFlags};
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rustix::fs::open(path, flags, Mode::from_raw_mode(0o600))?;
        Ok(File::from(fd))
    }
    #[cfg(not(unix))]
    {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
    }
}

/// Makes a rename in `dir` durable. Best effort: the rename has happened either way, and some
/// file systems cannot sync a directory.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};

    use super::*;

    #[expect(
        clippy::unwrap_used,
        reason = "a test helper fails the test that calls it"
    )]
    fn mode(path: &Path) -> u32 {
        std::fs::symlink_metadata(path)
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    }

    #[expect(
        clippy::unwrap_used,
        reason = "a test helper fails the test that calls it"
    )]
    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| Path::new(n).extension().is_some_and(|e| e == "tmp"))
            .collect()
    }

    #[test]
    fn a_private_file_is_0600_in_a_new_0700_directory_and_replaced_by_rename() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new").join("config.json");
        write_private(&path, b"one").unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        let first = std::fs::metadata(&path).unwrap().ino();
        write_private(&path, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        assert_ne!(std::fs::metadata(&path).unwrap().ino(), first);
        assert_eq!(mode(&path), 0o600);
        assert!(leftovers(path.parent().unwrap()).is_empty());
    }

    #[test]
    fn a_symlink_at_the_target_is_refused_and_its_file_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let path = dir.path().join("auth.json");
        symlink(&victim, &path).unwrap();
        let err = write_private(&path, b"secret").unwrap_err();
        assert_eq!(err.to_string(), SYMLINK_REFUSED);
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(std::fs::symlink_metadata(&path).unwrap().is_symlink());
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn the_exclusive_create_never_follows_a_planted_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let planted = dir.path().join(".config.json.0123456789abcdef.tmp");
        symlink(&victim, &planted).unwrap();
        let err = create_exclusive(&planted).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        // A dangling link is not followed either (it would create the file it names).
        let dangling = dir.path().join(".config.json.fedcba9876543210.tmp");
        let target = dir.path().join("created-through-the-link");
        symlink(&target, &dangling).unwrap();
        assert!(create_exclusive(&dangling).is_err());
        assert!(!target.exists());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    }

    #[test]
    fn temporary_names_are_random_and_recognised() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.json");
        let (a, _) = create_temp(&path).unwrap();
        let (b, _) = create_temp(&path).unwrap();
        assert_ne!(a, b);
        assert!(is_temp_of(&path, &a) && is_temp_of(&path, &b));
        assert!(!is_temp_of(&path, &dir.path().join(".auth.json..tmp")));
        assert!(!is_temp_of(&path, &dir.path().join(".config.json.12.tmp")));
        assert_eq!(mode(&a), 0o600);
    }

    #[test]
    fn the_lock_is_created_0600_and_a_symlinked_lock_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let lock = dir.path().join("auth.lock");
        drop(open_lock(&lock).unwrap());
        assert_eq!(mode(&lock), 0o600);
        drop(open_lock(&lock).unwrap());

        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let planted = dir.path().join("other.lock");
        symlink(&victim, &planted).unwrap();
        let err = open_lock(&planted).unwrap_err();
        assert_eq!(err.to_string(), SYMLINK_REFUSED);
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    }

    #[test]
    fn a_world_writable_home_is_refused_and_a_group_writable_one_repaired() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        assert!(check_home(&home).is_ok(), "a missing home is created later");
        std::fs::create_dir(&home).unwrap();
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = check_home(&home).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{p} is writable by other users, who could plant files there that codexia would trust; run `chmod 700 {p}` or point CODEXIA_HOME at a private directory",
                p = home.display()
            )
        );
        assert_eq!(mode(&home), 0o777, "left for the user to judge");
        assert!(prepare_home(&home).is_err());

        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o770)).unwrap();
        check_home(&home).unwrap();
        assert_eq!(mode(&home), 0o700);

        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o755)).unwrap();
        prepare_home(&home).unwrap();
        assert_eq!(mode(&home), 0o700);
    }

    #[test]
    fn a_home_of_another_user_is_refused() {
        // Only root can give a directory away; elsewhere this test has nothing to check.
        if rustix::process::geteuid().as_raw() != 0 {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir(&home).unwrap();
        std::os::unix::fs::chown(&home, Some(65534), None).unwrap();
        let err = check_home(&home).unwrap_err();
        assert!(
            matches!(err, UnsafeHome::OwnedByOther { owner: 65534, .. }),
            "{err}"
        );
        assert!(
            err.to_string()
                .ends_with("point CODEXIA_HOME at a directory of your own")
        );
    }
}

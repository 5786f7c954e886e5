fn main() {
    // Build scripts are compiled with the package's features, so this only runs for the tray build.
    #[cfg(feature = "tray")]
    {
        // The app's one command, `page`, carries every page command (`tray::ipc::PageCommand`);
        // its permission `allow-page` is granted in capabilities/.
        let manifest = tauri_build::AppManifest::new().commands(&["page"]);
        if let Err(err) =
            tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
        {
            panic!("tauri-build failed: {err:#}");
        }
    }
    link_text_order();
}

/// Lays out the binaries' code with the functions a gateway runs side by side
/// (`link/text-order.txt`, written by `scripts/text-order.sh`): the kernel maps code 64 KiB at a
/// time around each page touched, so scattered functions keep most of the binary's code
/// resident. The list goes to rust-lld, the default linker of x86_64 Linux since Rust 1.90;
/// names it does not find (another toolchain's or feature set's) keep their usual place.
fn link_text_order() {
    // Read when the script runs, not when it is compiled: cargo reuses a compiled build script
    // for another checkout of the same code (a git worktree sharing the target directory), and
    // a path fixed at compile time then named the other checkout's list, or none once it was
    // gone, and the binary was linked without any order (2.5 MB more resident idle, 5.5 MB
    // after load).
    let Ok(manifest_dir) = std::env::var("CARGO_MANIFEST_DIR") else {
        return;
    };
    let order = std::path::Path::new(&manifest_dir).join("link/text-order.txt");
    println!("cargo:rerun-if-changed={}", order.display());
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER");
    let target = std::env::var("TARGET").unwrap_or_default();
    // A linker chosen by hand may not be lld, and would refuse the option.
    let own_linker = std::env::var_os("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER").is_some()
        || std::env::var("CARGO_ENCODED_RUSTFLAGS")
            .is_ok_and(|flags| flags.contains("fuse-ld") || flags.contains("linker"));
    if target != "x86_64-unknown-linux-gnu"
        || own_linker
        || !order.exists()
        || !rustc_links_with_lld()
    {
        return;
    }
    println!(
        "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
        order.display()
    );
    println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
}

/// Whether rustc is 1.90 or later (rust-lld by default on x86_64 Linux).
fn rustc_links_with_lld() -> bool {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let Ok(out) = std::process::Command::new(rustc).arg("--version").output() else {
        return false;
    };
    let version = String::from_utf8_lossy(&out.stdout);
    let minor = version
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.split('.').nth(1))
        .and_then(|m| m.parse::<u32>().ok());
    minor.is_some_and(|minor| minor >= 90)
}

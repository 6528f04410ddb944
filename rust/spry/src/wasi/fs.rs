//! Files and directories: host preopens through cap-std, and virtual read-only trees.

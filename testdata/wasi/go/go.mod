module spry.test/wasiprogs

go 1.24

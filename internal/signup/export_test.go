package signup

// Queued is how many signups wait for the batch being written.
func (b *Batcher) Queued() int { return b.group.Queued() }

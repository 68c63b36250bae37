package bus

import (
	"context"
	"errors"
)

// Tee is a Publisher that hands every batch to each of its publishers in
// turn. Publish returns the errors of all of them; a publisher that fails
// does not keep the others from the batch.
type Tee[T any] []Publisher[T]

// Publish implements Publisher.
func (t Tee[T]) Publish(ctx context.Context, batch []T) error {
	var errs []error
	for _, p := range t {
		if err := p.Publish(ctx, batch); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

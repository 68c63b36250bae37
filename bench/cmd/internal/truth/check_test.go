
func TestEntitiesReadSourceAddress(t *testing.T) {
	in := Incident{Entities: []Entity{
		{Type: "ip", Field: "source.address", Value: "198.51.100.7"},
		{Type: "domain", Field: "source.address", Value: "scanner.example.net"},
		{Type: "user", Field: "user.name", Value: "alice"},
	}}
	ips, users, hosts := entities(&in)
	require.Equal(t, []string{"198.51.100.7"}, ips)
	require.Equal(t, []string{"alice"}, users)
	require.Empty(t, hosts)
}

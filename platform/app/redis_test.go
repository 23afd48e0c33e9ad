package app

import (
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestRedisAddressesPickTheClient(t *testing.T) {
	one := Config{RedisAddr: " 127.0.0.1:6390 "}
	if got := one.RedisAddrs(); len(got) != 1 || got[0] != "127.0.0.1:6390" {
		t.Fatalf("one address parsed as %q", got)
	}
	c := NewRedis(one.RedisAddrs(), "", "", 1, nil, nil)
	defer c.Close()
	if _, ok := c.(*redis.Client); !ok {
		t.Fatalf("one address made a %T, want a single server's client", c)
	}
	several := Config{RedisAddr: "127.0.0.1:7001, 127.0.0.1:7002,,127.0.0.1:7003"}
	if got := several.RedisAddrs(); len(got) != 3 {
		t.Fatalf("three addresses parsed as %q", got)
	}
	cc := NewRedis(several.RedisAddrs(), "", "", 1, nil, nil)
	defer cc.Close()
	if _, ok := cc.(*redis.ClusterClient); !ok {
		t.Fatalf("three addresses made a %T, want a cluster client", cc)
	}
	if err := (Config{RedisAddr: " , "}).Validate(); err == nil {
		t.Fatal("a list of no address validated")
	}
}

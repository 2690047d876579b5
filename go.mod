module github.com/tandem-llm/tandem

go 1.26.8
